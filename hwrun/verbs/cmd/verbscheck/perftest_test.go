package main

import (
	"math"
	"testing"
)

func TestParsePerftestLat(t *testing.T) {
	const header = "#bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec] \n"
	for _, tc := range []struct {
		name     string
		out      string
		typ, p99 float64 // NaN: unavailable
	}{
		{"ok", "banner\n" + header + " 8       1000          20.61          1802.13      35.15             52.77        90.11    198.53          1201.00   \n---\n", 35.15, 198.53},
		{"inf", header + " 8       1000          inf          inf      inf             -nan        -nan    inf          inf   \n", math.NaN(), math.NaN()},
		{"nan typical", header + " 8       1000          1.0          2.0      -nan             1.5        0.1    1.9          2.0   \n", math.NaN(), math.NaN()},
		{"no table", "Couldn't connect to 127.0.0.1:18515\n", math.NaN(), math.NaN()},
		{"short row", header + " 8 1000 1.0\n", math.NaN(), math.NaN()},
	} {
		got := parsePerftestLat(tc.out)
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
		if !same(got.typical, tc.typ) || !same(got.p99, tc.p99) {
			t.Errorf("%s: got typical %v, 99%% %v; want %v, %v", tc.name, got.typical, got.p99, tc.typ, tc.p99)
		}
		if got.ok() != !math.IsNaN(tc.typ) || (!got.ok() && got.note == "") {
			t.Errorf("%s: ok() %v, note %q", tc.name, got.ok(), got.note)
		}
	}
}
