//go:build linux

package bench

import (
	"errors"
	"math"
	"testing"
)

func TestFitLine(t *testing.T) {
	tests := []struct {
		name                   string
		xs, ys                 []float64
		slope, intercept, minR float64
		err                    error
	}{
		{"exact", []float64{0, 1000, 5000, 15000}, []float64{1e7, 1e7 + 3e6, 1e7 + 15e6, 1e7 + 45e6}, 3000, 1e7, 0.9999, nil},
		{"flat", []float64{1, 2, 3}, []float64{5, 5, 5}, 0, 5, 1, nil},
		{"noisy", []float64{0, 1, 2, 3, 4}, []float64{0.1, 0.9, 2.1, 2.9, 4.1}, 1, 0, 0.98, nil},
		{"one point", []float64{1}, []float64{1}, 0, 0, 0, ErrFitPoints},
		{"same x", []float64{2, 2}, []float64{1, 3}, 0, 0, 0, ErrFitPoints},
		{"length mismatch", []float64{1, 2}, []float64{1}, 0, 0, 0, ErrFitPoints},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FitLine(tt.xs, tt.ys)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if math.Abs(f.Slope-tt.slope) > 0.05*math.Max(1, math.Abs(tt.slope)) || math.Abs(f.Intercept-tt.intercept) > 0.2+1e-6*math.Abs(tt.intercept) {
				t.Errorf("fit = %+v, want slope %v intercept %v", f, tt.slope, tt.intercept)
			}
			if f.R2 < tt.minR || f.R2 > 1 {
				t.Errorf("R2 = %v, want in [%v, 1]", f.R2, tt.minR)
			}
		})
	}
}
