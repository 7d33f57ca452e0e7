;; The smallest parked G: what the runtime itself pays for one, with nothing of a guest's own.
;;
;; `wasm-gmp run park_min.wat -- N` spawns N Gs, each blocking in a receive on a channel of its own (as a
;; goroutine in `<-make(chan int)`), then prints `parked=N ns_per_spawn=X` and waits for a line on stdin
;; before it returns (which ends the program and its parked Gs), the protocol of `bench_park`.
;;
;; A parked G here writes nothing to its linear memory (its receive buffer is empty), has no data segment
;; and no table, so its cost is the store, instance and fiber stack the runtime gives every G, and the page
;; tables for them. A Rust G (`bench_park`) adds what its std and allocator dirty at start, its table and
;; the page-table page its touched memory needs. Only main uses memory: the arguments at 1024, the line at
;; 256, the iovecs at 0.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
  (import "gmp" "yield" (func $yield))
  (import "gmp" "now" (func $now (result i64)))
  (import "gmp" "chan_new" (func $chan_new (param i32) (result i32)))
  (import "gmp" "chan_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "gmp" "msg_take" (func $take (param i32 i32 i32 i32)))
  ;; No data segment: every G is an instance of this module, and each would get a copy of it.
  (memory (export "memory") 1)

  ;; N: the first argument after the program's name, in decimal (10,000 without one).
  (func $n (result i32) (local $p i32) (local $c i32) (local $v i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then (return (i32.const 10000))))
    ;; argv's pointers at 1024, its strings at 2048: room for 128 arguments and 60 KiB of text
    (if (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 128))
                (i32.gt_u (i32.load (i32.const 4)) (i32.const 61440)))
      (then unreachable))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (local.set $p (i32.load (i32.const 1028)))
    (block $end
      (loop $digits
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $end (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digits)))
    (local.get $v))

  ;; Writes `v` in decimal at `at`; returns the address past it.
  (func $put (param $at i32) (param $v i64) (result i32) (local $end i32) (local $x i64)
    (local.set $end (local.get $at))
    (local.set $x (local.get $v))
    (loop $count
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (local.set $x (i64.div_u (local.get $x) (i64.const 10)))
      (br_if $count (i64.ne (local.get $x) (i64.const 0))))
    (local.set $at (local.get $end))
    (loop $write
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.wrap_i64 (i64.add (i64.rem_u (local.get $v) (i64.const 10)) (i64.const 48))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $write (i64.ne (local.get $v) (i64.const 0))))
    (local.get $end))

  ;; Copies the `len` bytes at `from` to `at`; returns the address past them.
  (func $append (param $at i32) (param $from i32) (param $len i32) (result i32)
    (memory.copy (local.get $at) (local.get $from) (local.get $len))
    (i32.add (local.get $at) (local.get $len)))

  (func (export "_start") (local $n i32) (local $i i32) (local $t0 i64) (local $end i32)
    (local.set $n (call $n))
    (local.set $t0 (call $now))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $spawn_all
        (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $spawn_all (i32.lt_u (local.get $i) (local.get $n)))))
    ;; Let every G reach its receive (spawned Gs start when the spawner yields), as bench_park does.
    (call $yield) (call $yield) (call $yield) (call $yield)
    ;; "parked=N ns_per_spawn=X\n" at 256, its words stored as little-endian ASCII (no data segment)
    (i64.store (i32.const 256) (i64.const 0x3d64656b726170)) ;; "parked="
    (local.set $end (call $put (i32.const 263) (i64.extend_i32_u (local.get $n))))
    (i64.store (i32.const 504) (i64.const 0x5f7265705f736e20)) ;; " ns_per_"
    (i64.store (i32.const 512) (i64.const 0x3d6e77617073)) ;; "spawn="
    (local.set $end (call $append (local.get $end) (i32.const 504) (i32.const 14)))
    (local.set $end (call $put (local.get $end)
      (i64.div_u (i64.sub (call $now) (local.get $t0)) (i64.extend_i32_u (select (local.get $n) (i32.const 1) (local.get $n))))))
    (i32.store8 (local.get $end) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 256))
    (i32.store (i32.const 4) (i32.sub (i32.add (local.get $end) (i32.const 1)) (i32.const 256)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    ;; Wait for a line (or the end of stdin), then return: the program ends with its Gs.
    (i32.store (i32.const 8) (i32.const 768))
    (i32.store (i32.const 12) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 8) (i32.const 1) (i32.const 20))))

  ;; A spawned G: takes its (empty) message and blocks for good receiving from a channel nobody holds.
  (func (export "gmp_entry") (param i32 i32 i32)
    (call $take (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $recv (call $chan_new (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16)))))
