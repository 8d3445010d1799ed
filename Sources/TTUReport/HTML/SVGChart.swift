import Foundation
import TTUFiles

/// A small self-contained SVG line chart: series with optional ±sd bands, horizontal
/// reference lines, linear or log y axis. No scripts, no network: it renders offline.
public struct SVGChart {
    public struct Series {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// Half-width of the band around y (e.g. one sd); nil for none.
        public var band: [Double]?
        public var color: String
        public var dashed: Bool
        public init(name: String, x: [Double], y: [Double], band: [Double]? = nil, color: String, dashed: Bool = false) {
            self.name = name; self.x = x; self.y = y; self.band = band; self.color = color; self.dashed = dashed
        }
    }

    public struct ReferenceLine {
        public var name: String
        public var y: Double
        public var color: String
        public var dashed: Bool
        public init(name: String, y: Double, color: String, dashed: Bool) {
            self.name = name; self.y = y; self.color = color; self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY = false
    public var logX = false
    public var series: [Series] = []
    public var references: [ReferenceLine] = []
    /// Vertical lines at x = `y` of each entry (the field is named y for reuse; read it as x).
    public var verticals: [ReferenceLine] = []
    /// Dots on every data point (off for dense curves).
    public var showPoints = true
    public var width = 440.0
    public var height = 320.0
    /// Fixed y-range (otherwise fitted to the data).
    public var yRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    /// Colours that stay distinguishable for the usual handful of strategies.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]

    public func render() -> String {
        // The legend sits under the plot, in rows, so it never hides data.
        let entries = series.map { ($0.name, $0.color, $0.dashed) } + references.map { ($0.name, $0.color, $0.dashed) }
            + verticals.map { ($0.name, $0.color, $0.dashed) }
        let legendAt = legendLayout(entries.map(\.0))
        let legendRows = (legendAt.map(\.row).max() ?? -1) + 1
        let totalHeight = height + Double(legendRows) * 15
        let left = 64.0, right = 22.0, top = 30.0, bottom = 44.0
        let pw = width - left - right, ph = height - top - bottom
        func tx(_ v: Double) -> Double { logX ? log10(max(v, 1e-300)) : v }
        func ty(_ v: Double) -> Double { logY ? log10(max(v, 1e-300)) : v }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            xs += s.x.map(tx)
            for (k, v) in s.y.enumerated() where v.isFinite {
                let b = s.band?[k] ?? 0
                ys.append(ty(v + b)); ys.append(ty(max(v - b, logY ? v / 10 : -Double.infinity)))
            }
        }
        ys += references.map { ty($0.y) }
        xs += verticals.map { tx($0.y) }.filter { $0.isFinite }
        ys = ys.filter { $0.isFinite }
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if let r = yRange { y0 = ty(r.lowerBound); y1 = ty(r.upperBound) }
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y1 = y0 + 1; y0 -= 1 }
        if logY { y0 = y0.rounded(.down); y1 = y1.rounded(.up) } else { let pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad }
        if logX { x0 = x0.rounded(.down); x1 = x1.rounded(.up) }
        func px(_ v: Double) -> Double { left + (tx(v) - x0) / (x1 - x0) * pw }
        func py(_ v: Double) -> Double { top + (1 - (min(max(ty(v), y0), y1) - y0) / (y1 - y0)) * ph }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(totalHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(totalHeight))\" font-family=\"sans-serif\" font-size=\"11\">"
        o += "<title>\(escapeHTML(title))</title>"
        o += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"#fff\" stroke=\"#999\"/>"
        o += "<text x=\"\(f(width / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escapeHTML(title))</text>"
        // Axes ticks.
        for t in ticks(y0, y1, log: logY) {
            let yy = top + (1 - (t - y0) / (y1 - y0)) * ph
            o += "<line x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(yy))\" y2=\"\(f(yy))\" stroke=\"#eee\"/>"
            o += "<text x=\"\(f(left - 4))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(tickLabel(t, log: logY))</text>"
        }
        for t in ticks(x0, x1, log: logX) {
            let xx = left + (t - x0) / (x1 - x0) * pw
            o += "<line x1=\"\(f(xx))\" x2=\"\(f(xx))\" y1=\"\(f(top + ph))\" y2=\"\(f(top + ph + 4))\" stroke=\"#999\"/>"
            o += "<text x=\"\(f(xx))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(tickLabel(t, log: logX))</text>"
        }
        o += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>"
        o += "<text transform=\"translate(14 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>"
        for r in references {
            let yy = py(r.y)
            o += "<line x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(yy))\" y2=\"\(f(yy))\" stroke=\"\(r.color)\" stroke-width=\"1.5\"\(r.dashed ? " stroke-dasharray=\"6 4\"" : "")><title>\(escapeHTML(r.name)): \(r.y)</title></line>"
        }
        for v in verticals where v.y.isFinite {
            let xx = px(v.y)
            o += "<line x1=\"\(f(xx))\" x2=\"\(f(xx))\" y1=\"\(f(top))\" y2=\"\(f(top + ph))\" stroke=\"\(v.color)\" stroke-width=\"1.5\"\(v.dashed ? " stroke-dasharray=\"6 4\"" : "")><title>\(escapeHTML(v.name))</title></line>"
        }
        for s in series {
            let pts = zip(s.x, s.y).filter { $0.1.isFinite }
            if let band = s.band {
                let upper = s.x.indices.filter { s.y[$0].isFinite }.map { "\(f(px(s.x[$0]))),\(f(py(s.y[$0] + band[$0])))" }
                let lower = s.x.indices.filter { s.y[$0].isFinite }.reversed().map { "\(f(px(s.x[$0]))),\(f(py(max(s.y[$0] - band[$0], logY ? 1e-300 : -.infinity))))" }
                if !upper.isEmpty {
                    o += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(s.color)\" fill-opacity=\"0.15\" stroke=\"none\"/>"
                }
            }
            let d = pts.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            o += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            for (x, y) in pts where showPoints {
                o += "<circle cx=\"\(f(px(x)))\" cy=\"\(f(py(y)))\" r=\"3\" fill=\"\(s.color)\"><title>\(escapeHTML(s.name)): x = \(tickLabel(tx(x), log: false)), y = \(String(format: "%.4g", y))</title></circle>"
            }
        }
        // Legend, under the x-axis label.
        for (k, e) in entries.enumerated() {
            let (name, color, dashed) = e
            let lx = left + legendAt[k].x
            let ly = height + 4 + Double(legendAt[k].row) * 15
            o += "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 18))\" y1=\"\(f(ly))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            o += "<text x=\"\(f(lx + 22))\" y=\"\(f(ly + 4))\">\(escapeHTML(name))</text>"
        }
        o += "</svg>"
        return o
    }

    /// Legend entries flow left to right, each as wide as its text (about 6.5 px a character
    /// at the chart's font size, plus the line sample and a gap), wrapping to a new row when
    /// the next one would pass the right edge. (Fixed 140 px slots let long names overlap.)
    func legendLayout(_ names: [String]) -> [(x: Double, row: Int)] {
        let available = width - 70
        var out: [(x: Double, row: Int)] = [], x = 0.0, row = 0
        for name in names {
            let w = max(140, 22 + 6.5 * Double(name.count) + 14)
            if x > 0, x + w > available { x = 0; row += 1 }
            out.append((x, row))
            x += w
        }
        return out
    }

    private func ticks(_ a: Double, _ b: Double, log: Bool) -> [Double] {
        if log { return stride(from: a, through: b + 1e-9, by: 1).map { $0 } }
        let raw = (b - a) / 5
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var t = (a / step).rounded(.up) * step
        var out: [Double] = []
        while t <= b + 1e-9 * step { out.append(t); t += step }
        return out
    }

    private func tickLabel(_ t: Double, log: Bool) -> String {
        if log {
            guard t == t.rounded() else { return String(format: "%.3g", pow(10, t)) }
            return t >= 0 && t <= 5 ? String(format: "%.0f", pow(10, t)) : "1e\(Int(t))"
        }
        if t == 0 { return "0" }  // never "-0"
        if abs(t) >= 1e6 || abs(t) < 1e-3 { return String(format: "%.3g", t) }
        return String(format: "%g", (t * 1e6).rounded() / 1e6)
    }
}

public func escapeHTML(_ s: String) -> String {
    var o = ""
    o.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "\"": o += "&quot;"
        default: o.append(c)
        }
    }
    return o
}
