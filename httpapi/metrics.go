package httpapi

import (
	"bytes"
	"fmt"

	"github.com/valyala/fasthttp"
)

// metricsContentType is the Prometheus text exposition format's.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// serveMetrics answers GET /metrics with Config.Metrics's exposition. A
// collector's error is logged and the series gathered are still served.
func serveMetrics(s *Server, _ *fasthttp.RequestCtx) (any, error) {
	if s.cfg.Metrics == nil {
		return nil, fmt.Errorf("%w: metrics are off", errNotFound)
	}
	var b bytes.Buffer
	if err := s.cfg.Metrics.WriteText(&b); err != nil {
		if b.Len() == 0 {
			return nil, err
		}
		s.log.Warn("metrics: a collector failed", "err", err)
	}
	return rawAnswer{metricsContentType, b.Bytes()}, nil
}
