// Parked goroutines for measuring memory: twin of bench/guests/src/bin/bench_park.rs.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	n := 10000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	gate := make(chan struct{})
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() { <-gate }()
	}
	for i := 0; i < 4; i++ {
		runtime.Gosched()
	}
	per := n // the divisor, at least 1 (written out: Debian 12's Go 1.19 has no max builtin)
	if per < 1 {
		per = 1
	}
	fmt.Printf("parked=%d ns_per_spawn=%.1f\n", n, float64(time.Since(t0).Nanoseconds())/float64(per))
	bufio.NewReader(os.Stdin).ReadString('\n')
	close(gate)
}
