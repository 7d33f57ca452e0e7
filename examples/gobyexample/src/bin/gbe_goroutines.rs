//! Go by Example, *Goroutines*: a function called directly, then the same function and an anonymous one
//! each started in a G of their own (`go f(x)`, `go func(..) {..}(x)`). The direct call prints
//! `direct : 0` to `direct : 2` first; the two Gs' lines (`goroutine : 0..2`, `going`) then come
//! interleaved in any order, and `done` last.

use gmp::WaitGroup;

fn f(from: &str) {
    for i in 0..3 {
        println!("{from} : {i}");
    }
}

fn main() {
    f("direct");

    // Go's version sleeps a second and hopes the Gs are done by then; a WaitGroup makes it certain.
    let wg = WaitGroup::new();
    wg.add(2);
    {
        let wg = wg.clone();
        gmp::go!(wg => {
            f("goroutine");
            wg.done();
        });
    }
    let (msg, done) = ("going".to_string(), wg.clone());
    gmp::go!(msg, done => {
        println!("{msg}");
        done.done();
    });

    wg.wait();
    println!("done");
}
