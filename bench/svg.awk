# SVG drawing for bench/ charts (awk functions only; no network, no libraries). Used by
# bench/cluster/chart.sh and bench/compare/chart.sh with `awk -f bench/svg.awk -f THEIR.awk`.
#
#   svg_begin(w, h) / svg_end()          the document, on a white background
#   svg_frame(x, y, w, h, title)         a panel's border and its title above it
#   svg_fmt(v, unit)                     "1.25 M/s", "41 k/s", "7.2 ms", "1.46 KB", or v as is
#   svg_grouped(x, y, w, h, title, unit, logscale, ncat, cats, nser, sers, colors, vals)
#                                        a bar per (category, series) pair; vals[c, s] for
#                                        category c and series s (1-based, missing = no bar);
#                                        logscale != 0: a logarithmic axis (values > 0)

function svg_begin(w, h) {
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", w, h
  printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h
}

function svg_end() { print "</svg>" }

function svg_frame(x, y, w, h, title) {
  printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", x, y, w, h
  printf "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", x, y - 10, title
}

function svg_fmt(v, unit) {
  if (unit == "/s") {
    if (v >= 1e6) return sprintf("%.2f M/s", v / 1e6)
    if (v >= 1e4) return sprintf("%.0f k/s", v / 1e3)
    return sprintf("%.0f/s", v)
  }
  if (unit == "ms") return v >= 100 ? sprintf("%.0f ms", v) : sprintf("%.1f ms", v)
  if (unit == "KB") return sprintf("%.2f KB", v)
  return v
}

function svg_scaled(v, minv, maxv, logscale) {  # 0..1 along the value axis
  if (logscale) return (v <= minv || maxv <= minv) ? 0 : log(v / minv) / log(maxv / minv)
  return maxv <= 0 ? 0 : v / maxv
}

function svg_grouped(x, y, w, h, title, unit, logscale, ncat, cats, nser, sers, colors, vals,
                     c, s, minv, maxv, group, bar, bx, bh, legend_x) {
  svg_frame(x, y, w, h, title)
  maxv = 0
  minv = -1
  for (c = 1; c <= ncat; c++)
    for (s = 1; s <= nser; s++) {
      if (!((c, s) in vals)) continue
      if (vals[c, s] + 0 > maxv) maxv = vals[c, s] + 0
      if (vals[c, s] + 0 > 0 && (minv < 0 || vals[c, s] + 0 < minv)) minv = vals[c, s] + 0
    }
  # A log axis starts a factor of 3 below the smallest bar, so that bar still shows.
  if (logscale) minv = minv > 0 ? minv / 3 : 1
  group = (w - 40) / (ncat > 0 ? ncat : 1)
  bar = (group - 16) / (nser > 0 ? nser : 1)
  for (c = 1; c <= ncat; c++) {
    for (s = 1; s <= nser; s++) {
      if (!((c, s) in vals)) continue
      bx = x + 20 + (c - 1) * group + 8 + (s - 1) * bar
      bh = (h - 70) * svg_scaled(vals[c, s] + 0, minv, maxv, logscale)
      printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", bx, y + h - 30 - bh, bar - 2, bh, colors[s]
      printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">%s</text>\n", bx + (bar - 2) / 2, y + h - 33 - bh, svg_fmt(vals[c, s] + 0, unit)
    }
    printf "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", x + 20 + (c - 0.5) * group, y + h - 12, cats[c]
  }
  legend_x = x + 10
  for (s = 1; s <= nser; s++) {
    printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", legend_x, y + 8, colors[s]
    printf "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", legend_x + 14, y + 17, sers[s]
    legend_x += 24 + 6.5 * length(sers[s])
  }
  if (logscale) printf "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">log scale</text>\n", x + w - 6, y + 17
}
