// Unbuffered ping-pong round trip: twin of bench/guests/src/bin/bench_pingpong.rs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ping, pong := make(chan uint64), make(chan uint64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	t0 := time.Now()
	var v uint64
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	fmt.Printf("ns_per_op=%.1f\n", float64(time.Since(t0).Nanoseconds())/float64(n))
	close(ping)
}
