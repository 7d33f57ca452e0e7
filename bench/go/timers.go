// Timer wake-up lateness, in Go: G goroutines each sleep 1 ms N times and record how late they woke.
// Prints "lateness_us p50=X p99=Y". Same program as bench/guests/src/bin/bench_timer_lateness.rs.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

func main() {
	gs, n := 100, 200
	if len(os.Args) > 2 {
		gs, _ = strconv.Atoi(os.Args[1])
		n, _ = strconv.Atoi(os.Args[2])
	}
	out := make(chan []int64, gs)
	for g := 0; g < gs; g++ {
		go func() {
			late := make([]int64, 0, n)
			for i := 0; i < n; i++ {
				t := time.Now()
				time.Sleep(time.Millisecond)
				late = append(late, int64(time.Since(t)-time.Millisecond))
			}
			out <- late
		}()
	}
	var all []int64
	for g := 0; g < gs; g++ {
		all = append(all, <-out...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	p := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1000 }
	fmt.Printf("lateness_us p50=%.1f p99=%.1f\n", p(0.50), p(0.99))
}
