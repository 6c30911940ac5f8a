//go:build linux

package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteReport writes one self-contained HTML page (inline CSS and SVG, no
// scripts, well-formed XML) summarising results: memory versus
// connections, latency histograms and CDFs, deliveries per second over
// time, find-max steps, and a table per result.
func WriteReport(w io.Writer, results []*Result) error {
	return reportPage.Execute(w, reportData{Results: results, Charts: reportCharts(results)})
}

type reportData struct {
	Results []*Result
	Charts  []template.HTML
}

// reportCharts builds every chart the results have data for.
func reportCharts(results []*Result) []template.HTML {
	var out []template.HTML
	mem := chart{Title: "Server memory versus idle connections", XLabel: "connections", YLabel: "MiB"}
	cdf := chart{Title: "Latency CDF", XLabel: "latency (ms, log scale)", YLabel: "fraction", LogX: true}
	rate := chart{Title: "Deliveries per second over time", XLabel: "seconds", YLabel: "deliveries/s"}
	fm := chart{Title: "find-max: p95 latency versus deliveries per second", XLabel: "deliveries/s", YLabel: "p95 ms"}
	var hists []chart
	for _, r := range results {
		name := r.Label()
		if i := r.Idle; i != nil && len(i.Points) > 0 {
			x, rss, heap := []float64{0}, []float64{mib(float64(i.Baseline.RSS))}, []float64{mib(float64(i.Baseline.HeapInuse))}
			for _, p := range i.Points {
				x = append(x, float64(p.Open))
				rss = append(rss, mib(float64(p.Server.RSS)))
				heap = append(heap, mib(float64(p.Server.HeapInuse)))
			}
			mem.Series = append(mem.Series, chartSeries{Name: name + " RSS", X: x, Y: rss, Marks: true})
			if i.Source == "stats" {
				mem.Series = append(mem.Series, chartSeries{Name: name + " heap in use", X: x, Y: heap, Marks: true})
			}
			if f := i.RSSFit; f != nil {
				last := x[len(x)-1]
				mem.Series = append(mem.Series, chartSeries{Name: fmt.Sprintf("RSS fit: %s/conn", bytesText(f.Slope)),
					X: []float64{0, last}, Y: []float64{mib(f.Intercept), mib(f.Intercept + f.Slope*last)}, Dashed: true})
			}
		}
		if c := r.Connect; c != nil && c.HandshakeHist.Count > 0 && r.Scenario == "connect" {
			cdf.Series = append(cdf.Series, cdfSeries(name+" handshake", &c.HandshakeHist))
		}
		if d := r.Delivery; d != nil && d.LatencyHist.Count > 0 {
			cdf.Series = append(cdf.Series, cdfSeries(name+" delivery", &d.LatencyHist))
			hists = append(hists, chart{Title: name + ": delivery latency histogram", XLabel: "latency (ms, log scale)", YLabel: "deliveries",
				LogX: true, Series: []chartSeries{histSeries(name, &d.LatencyHist)}})
		}
		if len(r.Series) > 1 {
			var x, y []float64
			for _, p := range r.Series[1:] {
				x = append(x, p.T)
				y = append(y, p.DeliveriesPerSec)
			}
			rate.Series = append(rate.Series, chartSeries{Name: name, X: x, Y: y})
		}
		if f := r.FindMax; f != nil && len(f.Steps) > 0 {
			var x, y []float64
			for _, s := range f.Steps {
				x = append(x, s.DeliveriesPerSec)
				y = append(y, s.Latency.P95)
			}
			fm.Series = append(fm.Series, chartSeries{Name: name, X: x, Y: y, Marks: true},
				chartSeries{Name: "p95 limit", X: []float64{0, slicesMax(x)}, Y: []float64{f.P95LimitMS, f.P95LimitMS}, Dashed: true})
		}
	}
	for _, c := range append([]chart{mem, cdf}, append(hists, rate, fm)...) {
		if len(c.Series) > 0 {
			out = append(out, c.svg())
		}
	}
	return out
}

// Label names a result in legends: the scenario and the parameters that
// tell runs of one scenario apart.
func (r *Result) Label() string {
	c := r.Config
	l := fmt.Sprintf("%s n=%d", r.Scenario, c.N)
	switch {
	case len(c.Sweep) > 0:
		l = fmt.Sprintf("%s sweep to %d", r.Scenario, c.Sweep[len(c.Sweep)-1])
	case c.FindMax:
		l += " find-max"
	case r.Scenario == "broadcast":
		l += fmt.Sprintf(" m=%d", c.Messages)
	}
	return l
}

func mib(b float64) float64 { return b / (1 << 20) }

func slicesMax(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// cdfSeries turns a histogram into cumulative fractions at bucket upper
// bounds (ms).
func cdfSeries(name string, h *Histogram) chartSeries {
	s := chartSeries{Name: name}
	var seen uint64
	for i, n := range h.Buckets {
		if n == 0 {
			continue
		}
		seen += n
		_, hi := bucketBounds(i)
		s.X = append(s.X, math.Max(float64(hi+1)/1000, 0.001))
		s.Y = append(s.Y, float64(seen)/float64(h.Count))
	}
	return s
}

// histSeries regroups a histogram into histBins bars of equal width on a
// log scale of milliseconds.
func histSeries(name string, h *Histogram) chartSeries {
	const histBins = 40
	lo := math.Log10(math.Max(float64(h.MinUS), 1) / 1000)
	hi := math.Log10(math.Max(float64(h.MaxUS+1), 2) / 1000)
	if hi-lo < 0.5 {
		lo, hi = lo-0.25, hi+0.25
	}
	width := (hi - lo) / histBins
	counts := make([]float64, histBins)
	for i, n := range h.Buckets {
		if n == 0 {
			continue
		}
		b0, b1 := bucketBounds(i)
		v := math.Log10(math.Max(float64(b0+b1)/2, 0.5) / 1000)
		counts[min(max(int((v-lo)/width), 0), histBins-1)] += float64(n)
	}
	s := chartSeries{Name: name, Bars: true}
	for i, c := range counts {
		s.X = append(s.X, math.Pow(10, lo+float64(i)*width))
		s.Y = append(s.Y, c)
	}
	s.X = append(s.X, math.Pow(10, hi)) // right edge of the last bar
	return s
}

// chart is one SVG line or bar chart.
type chart struct {
	Title, XLabel, YLabel string
	LogX                  bool
	Series                []chartSeries
}

// chartSeries is one line (or, with Bars, bars whose left edges are X and
// whose last X is the right edge of the last bar).
type chartSeries struct {
	Name   string
	X, Y   []float64
	Dashed bool
	Marks  bool
	Bars   bool
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

// Chart geometry in SVG user units.
const (
	chartW, chartH             = 940, 340
	padL, padR, padT, padB int = 70, 240, 30, 46 // the legend sits in padR
)

// svg renders the chart; every text is escaped.
func (c chart) svg() template.HTML {
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range c.Series {
		for i, x := range s.X {
			if c.LogX && x <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			if i < len(s.Y) {
				ymax = math.Max(ymax, s.Y[i])
			}
		}
	}
	if math.IsInf(xmin, 0) {
		return ""
	}
	tx := func(x float64) float64 { return x }
	if c.LogX {
		tx = math.Log10
	}
	x0, x1 := tx(xmin), tx(xmax)
	if x1 == x0 {
		x0, x1 = x0-1, x1+1
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax *= 1.05
	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-padB)
	px := func(x float64) float64 { return float64(padL) + (tx(x)-x0)/(x1-x0)*pw }
	py := func(y float64) float64 { return float64(padT) + ph - y/ymax*ph }
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="18" class="title">%s</text>`, padL, esc(c.Title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" class="plot"/>`, padL, padT, pw, ph)
	for _, t := range ticks(0, ymax/1.05, 5) {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="ytick">%s</text>`,
			padL, chartW-padR, py(t), py(t), padL-6, py(t)+4, esc(num(t)))
	}
	xt := ticks(xmin, xmax, 6)
	if c.LogX {
		xt = logTicks(xmin, xmax)
	}
	for _, t := range xt {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/><text x="%.1f" y="%d" class="xtick">%s</text>`,
			px(t), px(t), padT, chartH-padB, px(t), chartH-padB+16, esc(num(t)))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" class="xlabel">%s</text>`, float64(padL)+pw/2, chartH-8, esc(c.XLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.0f" class="ylabel" transform="rotate(-90 14 %.0f)">%s</text>`, float64(padT)+ph/2, float64(padT)+ph/2, esc(c.YLabel))
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		switch {
		case s.Bars:
			for j := 0; j+1 < len(s.X) && j < len(s.Y); j++ {
				if s.Y[j] > 0 {
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
						px(s.X[j]), py(s.Y[j]), math.Max(px(s.X[j+1])-px(s.X[j])-1, 1), py(0)-py(s.Y[j]), color)
				}
			}
		default:
			var pts []string
			for j := range min(len(s.X), len(s.Y)) {
				if !c.LogX || s.X[j] > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
				}
			}
			dash := ""
			if s.Dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(pts, " "), color, dash)
			if s.Marks {
				for _, p := range pts {
					xy := strings.Split(p, ",")
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], color)
				}
			}
		}
		ly := padT + 10 + 16*i
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			chartW-padR+12, ly-4, color, chartW-padR+28, ly, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts only
}

// ticks returns about n round values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9 && len(out) < 4*n; t += step {
		out = append(out, t)
	}
	return out
}

// logTicks returns the powers of ten within [lo, hi], and their 2x and 5x
// when the range spans at most three decades.
func logTicks(lo, hi float64) []float64 {
	mults := []float64{1, 2, 5}
	if hi/lo > 1000 {
		mults = mults[:1]
	}
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)) && len(out) < 40; e++ {
		for _, m := range mults {
			if t := m * math.Pow(10, e); t >= lo && t <= hi {
				out = append(out, t)
			}
		}
	}
	return out
}

// num formats a tick value compactly.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case a >= 1e4:
		return fmt.Sprintf("%gk", math.Round(v/100)/10)
	case a >= 1 || a == 0:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	}
	return fmt.Sprintf("%.3g", v)
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": bytesText,
	"fails": mapText,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>wsbench report</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; }
td.k { text-align: left; }
svg { display: block; margin: 1em 0; }
svg .title { font-size: 15px; font-weight: bold; }
svg .plot { fill: none; stroke: #888; }
svg .grid { stroke: #e4e4e4; }
svg .xtick { font-size: 11px; text-anchor: middle; }
svg .ytick { font-size: 11px; text-anchor: end; }
svg .xlabel, svg .ylabel { font-size: 12px; text-anchor: middle; }
svg .legend { font-size: 11px; }
.bad { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>wsbench report</h1>
{{range .Results}}
<h2>{{.Label}}{{if .Interrupted}} <span class="bad">(interrupted: partial)</span>{{end}}</h2>
<p>{{.Started.Format "2006-01-02 15:04:05 MST"}}, {{printf "%.1f" .Seconds}} s; {{.Machine.Cores}} cores, {{.Machine.GoVersion}}, kernel {{.Machine.Kernel}};
target {{.Config.WS}}; {{.Config.Procs}} process(es).{{if .Error}} <span class="bad">Error: {{.Error}}</span>{{end}}</p>
<table>
{{with .Connect}}
<tr><th colspan="2">connect</th></tr>
<tr><td class="k">opened / requested</td><td>{{.Opened}} / {{.Requested}}</td></tr>
<tr><td class="k">upgrades/s</td><td>{{printf "%.0f" .UpgradesPerSec}}</td></tr>
<tr><td class="k">handshake p50 / p99 / max (ms)</td><td>{{printf "%.2f / %.2f / %.2f" .Handshake.P50 .Handshake.P99 .Handshake.Max}}</td></tr>
<tr><td class="k">failures</td><td>{{.Failed}} {{fails .Failures}}</td></tr>
{{end}}
{{with .Idle}}
<tr><th colspan="2">idle (memory from {{.Source}})</th></tr>
{{range .Points}}<tr><td class="k">{{.Open}} connections</td><td>RSS {{bytes .RSSPerConn}}/conn, heap {{bytes .HeapPerConn}}/conn, {{.Server.Goroutines}} goroutines, CPU {{printf "%.2f" .CPUPercent}}%, closed {{.Closed}}</td></tr>
{{end}}
{{with .RSSFit}}<tr><td class="k">RSS slope (the number to quote)</td><td>{{bytes .Slope}} per connection (R2 {{printf "%.3f" .R2}})</td></tr>{{end}}
{{with .HeapFit}}<tr><td class="k">heap slope</td><td>{{bytes .Slope}} per connection</td></tr>{{end}}
{{end}}
{{with .Delivery}}
<tr><th colspan="2">delivery via {{.Endpoint}}</th></tr>
<tr><td class="k">clients / streams</td><td>{{.Clients}} / {{.Streams}}</td></tr>
<tr><td class="k">API calls (ok / failed), req/s</td><td>{{.Calls}} / {{.FailedCalls}} {{fails .APIErrors}}, {{printf "%.0f" .APIRequestsPerSec}}</td></tr>
<tr><td class="k">API latency p50 / p99 (ms)</td><td>{{printf "%.2f / %.2f" .API.P50 .API.P99}}</td></tr>
<tr><td class="k">deliveries, per second</td><td>{{.Deliveries}}, {{printf "%.0f" .DeliveriesPerSec}}</td></tr>
<tr><td class="k">latency p50 / p90 / p99 / max (ms)</td><td>{{printf "%.2f / %.2f / %.2f / %.2f" .Latency.P50 .Latency.P90 .Latency.P99 .Latency.Max}}</td></tr>
<tr><td class="k">LOST / DUPLICATED</td><td{{if or .Lost .Duplicated}} class="bad"{{end}}>{{.Lost}} / {{.Duplicated}}</td></tr>
{{end}}
{{with .FindMax}}
<tr><th colspan="2">find-max (p95 limit {{printf "%.0f" .P95LimitMS}} ms)</th></tr>
{{range .Steps}}<tr><td class="k">{{printf "%.1f" .TargetRate}} msg/s</td><td>{{printf "%.0f" .DeliveriesPerSec}} deliveries/s, p95 {{printf "%.1f" .Latency.P95}} ms{{if not .Pass}} <span class="bad">{{.Reason}}</span>{{end}}</td></tr>
{{end}}
<tr><td class="k">best</td><td>{{printf "%.0f" .BestDeliveriesPerSec}} deliveries/s</td></tr>
{{end}}
{{with .Churn}}
<tr><th colspan="2">churn</th></tr>
<tr><td class="k">churn connections opened</td><td>{{.ChurnOpened}}</td></tr>
<tr><td class="k">counts before / after (clients, uids, groups)</td><td>{{.Before.Clients}}, {{.Before.UIDs}}, {{.Before.Groups}} / {{.After.Clients}}, {{.After.UIDs}}, {{.After.Groups}}</td></tr>
<tr><td class="k">leak</td><td{{if .Leak}} class="bad"{{end}}>{{if .Leak}}yes{{else}}none{{end}}</td></tr>
{{end}}
</table>
{{range .Notes}}<p>Note: {{.}}</p>{{end}}
{{end}}
<h2>Charts</h2>
{{range .Charts}}{{.}}
{{end}}
</body>
</html>
`))
