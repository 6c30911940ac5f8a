package metrics

import (
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// Namespace prefixes every series of the gateway.
const Namespace = "wsgate"

// Buckets are the latency histograms' upper bounds in seconds, from 100 µs
// (one send to one client) to 10 s (a broadcast to hundreds of thousands).
var Buckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry is one gateway's series. Create it with New.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // route, code
	duration *prometheus.HistogramVec // route
	// series caches each (route, code)'s counter and histogram, so that a
	// request costs no label hashing: routeCode -> *requestSeries.
	series sync.Map
}

type routeCode struct {
	route string
	code  int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New returns a registry holding the Go runtime and process collectors,
// wsgate_build_info and the API request series (see ObserveRequest).
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	version := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	r.requests = r.CounterVec(Namespace+"_api_requests_total", "REST API requests answered, by route and HTTP status code.", "route", "code")
	r.duration = r.HistogramVec(Namespace+"_api_request_duration_seconds", "REST API request handling time, by route.", "route")
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build)
	return r
}

// MustRegister adds collectors; it panics when one's series clash with
// series already registered (a programming error).
func (r *Registry) MustRegister(cs ...prometheus.Collector) { r.reg.MustRegister(cs...) }

// CounterVec registers and returns a counter vector with the given label
// names; name is the whole series name ("wsgate_..._total").
func (r *Registry) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.reg.MustRegister(c)
	return c
}

// HistogramVec registers and returns a histogram vector of seconds over
// Buckets with the given label names; name is the whole series name
// ("wsgate_..._seconds").
func (r *Registry) HistogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: Buckets}, labels)
	r.reg.MustRegister(h)
	return h
}

// Gatherer is the registry for code that serves or pushes it itself
// (promhttp, a push gateway).
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// WriteText gathers every series and writes them to w in the text format
// (version 0.0.4). A collector's error is returned after the rest is written.
func (r *Registry) WriteText(w io.Writer) error {
	mfs, gatherErr := r.reg.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return gatherErr
}

// ObserveRequest records one API request: route is a fixed route name (the
// API maps unknown paths to one name), code the HTTP status answered.
func (r *Registry) ObserveRequest(route string, code int, d time.Duration) {
	key := routeCode{route, code}
	v, ok := r.series.Load(key)
	if !ok {
		v, _ = r.series.LoadOrStore(key, &requestSeries{
			count:    r.requests.WithLabelValues(route, strconv.Itoa(code)),
			duration: r.duration.WithLabelValues(route),
		})
	}
	s := v.(*requestSeries)
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}
