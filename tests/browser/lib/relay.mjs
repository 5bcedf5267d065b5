// Starts the real message-service and notify-service for one test: 127.0.0.1 only, free ports,
// a fresh DATA_DIR, the checkout's www/. Every process is stopped by its own PID, never by name.
//
// The binaries come from $RELAY_MESSAGE_SERVICE_BIN / $RELAY_NOTIFY_SERVICE_BIN (ctest sets them
// from CMake's $<TARGET_FILE:...>); without them the default build directory is tried.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');

/** How long anything that should happen soon may take before a test fails. */
export const PATIENCE_MS = 30_000;

function binary(envName, fallback) {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  return path.join(repoRoot, 'build', fallback, fallback);
}

export const messageServiceBin = () =>
  binary('RELAY_MESSAGE_SERVICE_BIN', 'message-service');
export const notifyServiceBin = () => binary('RELAY_NOTIFY_SERVICE_BIN', 'notify-service');
export const wwwDir = () => process.env.RELAY_WWW_DIR || path.join(repoRoot, 'www');

// setpriv --pdeathsig makes the kernel kill a service if this test process dies without running
// its clean-up (a ctest timeout's SIGKILL, say). It execs the binary, so the PID stays the same.
const pdeathsig = (() => {
  const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' });
  return probe.status === 0;
})();

/** Every process any Relay of this test file started and has not seen exit: killed at exit. */
const livePids = new Set();
process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One service binary run as a child process, restartable, with its output kept for failures. */
export class Service {
  constructor(name, bin, env) {
    this.name = name;
    this.bin = bin;
    this.env = env;
    this.child = null;
    this.port = 0;
    this.lines = [];
    this.exits = [];
    this.stoppingPid = 0;
  }

  get pid() {
    return this.child ? this.child.pid : 0;
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  keep(stream, text) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.lines.push(`[${this.name} ${stream}] ${line}`);
      if (this.lines.length > 300) this.lines.shift();
    }
  }

  /** Starts the binary and waits for its `msg=listening ... port=N` line. */
  async start(timeoutMs = PATIENCE_MS) {
    if (this.running) throw new Error(`${this.name} already runs (pid ${this.pid})`);
    if (!existsSync(this.bin)) throw new Error(`${this.name} binary not found: ${this.bin}`);
    const env = { PATH: process.env.PATH || '/usr/bin:/bin', ...this.env };
    for (const name of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS', 'TMPDIR']) {
      if (process.env[name]) env[name] = process.env[name];
    }
    const [command, args] = pdeathsig
      ? ['setpriv', ['--pdeathsig', 'KILL', this.bin]]
      : [this.bin, []];
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    livePids.add(child.pid);
    let listening = null;
    const listened = new Promise((resolve, reject) => {
      listening = { resolve, reject };
    });
    let firstLine = true;
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      this.keep('out', chunk);
      if (!firstLine) return;
      pending += chunk;
      const end = pending.indexOf('\n');
      if (end < 0) return;
      firstLine = false;
      const match = /\bport=(\d+)/.exec(pending.slice(0, end));
      if (match) listening.resolve(Number(match[1]));
      else listening.reject(new Error(`${this.name}: first line has no port=: ${pending.slice(0, end)}`));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => this.keep('err', chunk));
    child.on('error', (err) => listening.reject(err));
    child.on('exit', (code, signal) => {
      livePids.delete(child.pid);
      const asked = this.stoppingPid === child.pid;
      this.exits.push({ pid: child.pid, code, signal, asked });
      this.keep('exit', `pid ${child.pid} exited code=${code} signal=${signal}${asked ? '' : ' (unexpected)'}`);
      listening.reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before listening`));
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} printed no listening line within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      this.port = await Promise.race([listened, timeout]);
    } finally {
      clearTimeout(timer);
    }
    await this.waitHealthy(timeoutMs);
    return this.port;
  }

  /** Polls GET /health until it answers 200. */
  async waitHealthy(timeoutMs = PATIENCE_MS) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while waiting for /health`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        if (response.status === 200) return;
        last = `status ${response.status}`;
      } catch (err) {
        last = String(err);
      }
      await delay(50);
    }
    throw new Error(`${this.name} /health not OK within ${timeoutMs} ms: ${last}`);
  }

  /** Sends `signal` to this service's own PID and waits for it to exit. */
  async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
    const child = this.child;
    if (!child || !this.running) return;
    this.stoppingPid = child.pid;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([exited, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** SIGKILL by PID, and wait until it is gone. */
  kill9() {
    return this.stop('SIGKILL');
  }

  /** Exits the test did not ask for (a crash). */
  unexpectedExits() {
    return this.exits.filter((exit) => !exit.asked);
  }

  diagnostics(count = 40) {
    return `${this.name} pid=${this.pid} port=${this.port} running=${this.running}\n` +
      this.lines.slice(-count).join('\n');
  }
}

/**
 * Both services wired to each other. message-service takes a free port (PORT=0, then the same
 * port on restarts, so the page's origin stays); notify-service a port reserved up front.
 */
export class Relay {
  static async start(options = {}) {
    const relay = new Relay();
    await relay.init(options);
    return relay;
  }

  async init({ messageEnv = {}, notifyEnv = {} } = {}) {
    this.dir = mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'relay-browser-'));
    this.notifyPort = await freePort();
    this.message = new Service('message-service', messageServiceBin(), {
      PORT: '0',
      BIND_ADDRESS: '127.0.0.1',
      DATA_DIR: this.dir,
      WWW_DIR: wwwDir(),
      NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${this.notifyPort}`,
      PUBLIC_NOTIFY_URL: `http://127.0.0.1:${this.notifyPort}`,
      FORWARD_RETRY_MAX_MS: '200',
      ...messageEnv,
    });
    this.notify = new Service('notify-service', notifyServiceBin(), {
      PORT: String(this.notifyPort),
      BIND_ADDRESS: '127.0.0.1',
      PRESENCE_GRACE_MS: '1000',
      ...notifyEnv,
    });
    const messagePort = await this.message.start();
    this.message.env.PORT = String(messagePort);
    this.notify.env.MESSAGE_SERVICE_URL = `http://127.0.0.1:${messagePort}`;
    await this.notify.start();
  }

  get url() {
    return `http://127.0.0.1:${this.message.port}/`;
  }

  /** Plain HTTP to message-service (no browser), for checking what was stored. */
  async api(pathAndQuery, init = {}) {
    const response = await fetch(`http://127.0.0.1:${this.message.port}${pathAndQuery}`, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, headers: response.headers, body };
  }

  async postMessage(message, headers = {}) {
    const result = await this.api('/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(message),
    });
    if (result.status !== 201 && result.status !== 200) {
      throw new Error(`POST /messages answered ${result.status}: ${JSON.stringify(result.body)}`);
    }
    return result.body;
  }

  diagnostics() {
    return `${this.message.diagnostics()}\n${this.notify.diagnostics()}`;
  }

  /** Stops whatever still runs (by PID) and removes the data directory. */
  async close() {
    await Promise.all([this.message.stop(), this.notify.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
