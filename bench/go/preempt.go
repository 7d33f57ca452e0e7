// Preemption latency at one P: a spinning goroutine and a 1 ms sleeper: twin of
// bench/guests/src/bin/bench_preempt.rs.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

func main() {
	n := 200
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	go func() {
		x := uint64(1)
		for {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}()
	late := make([]int64, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now()
		time.Sleep(time.Millisecond)
		late = append(late, int64(time.Since(t)-time.Millisecond))
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	p := func(q float64) float64 { return float64(late[int(q*float64(len(late)-1))]) / 1000 }
	fmt.Printf("lateness_us p50=%.1f p99=%.1f\n", p(0.50), p(0.99))
}
