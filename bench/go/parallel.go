// CPU-bound goroutines: twin of bench/guests/src/bin/bench_parallel.rs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func work(seed, rounds uint64) uint64 {
	x := seed | 1
	for i := uint64(0); i < rounds; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func main() {
	k, rounds := uint64(16), uint64(20000000)
	if len(os.Args) > 2 {
		k, _ = strconv.ParseUint(os.Args[1], 10, 64)
		rounds, _ = strconv.ParseUint(os.Args[2], 10, 64)
	}
	t0 := time.Now()
	out := make(chan uint64, k)
	for i := uint64(0); i < k; i++ {
		go func(i uint64) { out <- work(i, rounds) }(i)
	}
	var result uint64
	for i := uint64(0); i < k; i++ {
		result ^= <-out
	}
	fmt.Printf("ms=%.1f result=%d\n", float64(time.Since(t0).Microseconds())/1000, result)
}
