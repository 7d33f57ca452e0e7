// spawn+exit per goroutine, with ALIVE goroutines already parked: twin of bench/guests/src/bin/bench_spawn.rs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n, alive := 100000, 0
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		alive, _ = strconv.Atoi(os.Args[2])
	}
	gate := make(chan struct{})
	for i := 0; i < alive; i++ {
		go func() { <-gate }()
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
	fmt.Printf("ns_per_op=%.1f alive=%d\n", float64(time.Since(t0).Nanoseconds())/float64(n), alive)
	close(gate)
}
