// Buffered channel throughput, P producers and P consumers, capacity 1024: twin of
// bench/guests/src/bin/bench_chan_throughput.rs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	p, m := 1, 2000000
	if len(os.Args) > 2 {
		p, _ = strconv.Atoi(os.Args[1])
		m, _ = strconv.Atoi(os.Args[2])
	}
	ch := make(chan uint64, 1024)
	sent, counts := make(chan struct{}, p), make(chan int, p)
	t0 := time.Now()
	for i := 0; i < p; i++ {
		per := m / p
		if i < m%p {
			per++
		}
		go func(per int) {
			for k := 0; k < per; k++ {
				ch <- uint64(k)
			}
			sent <- struct{}{}
		}(per)
	}
	for i := 0; i < p; i++ {
		go func() {
			n := 0
			for range ch {
				n++
			}
			counts <- n
		}()
	}
	for i := 0; i < p; i++ {
		<-sent
	}
	close(ch)
	total := 0
	for i := 0; i < p; i++ {
		total += <-counts
	}
	if total != m {
		panic("lost messages")
	}
	fmt.Printf("ns_per_op=%.1f\n", float64(time.Since(t0).Nanoseconds())/float64(m))
}
