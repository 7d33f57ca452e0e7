// The concurrent prime sieve, timed: twin of bench/guests/src/bin/bench_sieve.rs.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func generate(ch chan<- uint64) {
	for i := uint64(2); ; i++ {
		ch <- i
	}
}

func filter(in <-chan uint64, out chan<- uint64, p uint64) {
	for i := range in {
		if i%p != 0 {
			out <- i
		}
	}
}

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	t0 := time.Now()
	ch := make(chan uint64)
	go generate(ch)
	var last uint64
	for i := 0; i < n; i++ {
		p := <-ch
		last = p
		ch2 := make(chan uint64)
		go filter(ch, ch2, p)
		ch = ch2
	}
	fmt.Printf("ms=%.1f last=%d\n", float64(time.Since(t0).Microseconds())/1000, last)
}
