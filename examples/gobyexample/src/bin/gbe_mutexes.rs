//! Go by Example, *Mutexes*: a container of named counters, guarded by a `gmp::sync::Mutex`, is
//! incremented from three Gs at once (`a` twice, `b` once, 1,000 times each). Prints
//! `map[a:2000 b:1000]`, the way Go prints a map.
//!
//! The SDK's mutex owns its value (like Rust's, unlike Go's, which sits next to the data): the map moves
//! to whichever G holds the lock, and back when the guard is dropped.

use std::collections::BTreeMap;

use gmp::WaitGroup;
use gmp::sync::Mutex;

#[derive(Clone, gmp::Message)]
struct Container {
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Container {
    fn inc(&self, name: &str) {
        *self.counters.lock().entry(name.to_string()).or_default() += 1;
    }
}

fn main() {
    let c = Container { counters: Mutex::new(BTreeMap::from([("a".to_string(), 0), ("b".to_string(), 0)])) };
    let wg = WaitGroup::new();

    for name in ["a", "a", "b"] {
        wg.add(1);
        let (c, wg, name) = (c.clone(), wg.clone(), name.to_string());
        gmp::go!(c, wg, name => {
            for _ in 0..1000 {
                c.inc(&name);
            }
            wg.done();
        });
    }

    wg.wait();
    let counters = c.counters.lock();
    let entries: Vec<String> = counters.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    println!("map[{}]", entries.join(" "));
}
