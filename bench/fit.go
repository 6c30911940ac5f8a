//go:build linux

package bench

import "math"

// LinearFit is the least-squares line Y = Intercept + Slope*X through a set
// of points; R2 is its coefficient of determination (1 for a perfect fit,
// and 1 when all Y are equal and the line is flat).
type LinearFit struct {
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	R2        float64 `json:"r2"`
	Points    int     `json:"points"`
}

// FitLine fits a line to the points (xs[i], ys[i]). It returns ErrFitPoints
// when the slices differ in length or hold fewer than two distinct x values.
func FitLine(xs, ys []float64) (LinearFit, error) {
	if len(xs) != len(ys) || len(xs) < 2 {
		return LinearFit{}, ErrFitPoints
	}
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return LinearFit{}, ErrFitPoints
	}
	f := LinearFit{Slope: sxy / sxx, Points: len(xs)}
	f.Intercept = my - f.Slope*mx
	f.R2 = 1
	if syy > 0 {
		f.R2 = math.Min(1, sxy*sxy/(sxx*syy))
	}
	return f, nil
}
