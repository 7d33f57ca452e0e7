//! Channel ends compared, hashed and printed by identity, as Go compares channel values; `Chan<T>` and the
//! std collections as messages. Prints `ok` lines:
//! - a chat server keys its clients by their reply channel: a client that registers twice, its channel
//!   arriving under a new handle each time, is one key;
//! - `gmp::Chan<T>` travels as one value and keeps both ends;
//! - a `HashMap`, `BTreeSet` and `VecDeque` cross to another G intact;
//! - a derived struct and enum, and a serde type holding a `HashMap` (derived through `gmp::serde`, this
//!   crate having no serde dependency of its own), do too.

use std::collections::{BTreeSet, HashMap, VecDeque};

fn main() {
    let (register, registrations) = gmp::chan::<gmp::Sender<String>>(0);
    gmp::go!(register => {
        let (mine, _inbox) = gmp::chan::<String>(8);
        for _ in 0..3 {
            register.send(mine.clone());
        }
        let (other, _other_inbox) = gmp::chan::<String>(8);
        register.send(other);
        register.close();
    });
    let mut clients: HashMap<gmp::Sender<String>, u32> = HashMap::new();
    let mut handles = Vec::new();
    for tx in registrations.iter() {
        handles.push(format!("{tx:?}"));
        *clients.entry(tx).or_default() += 1;
    }
    let mut counts: Vec<u32> = clients.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 3], "clients: {clients:?}");
    assert!(handles.iter().all(|d| d.starts_with("Sender { chan: ")), "{handles:?}");
    println!("ok: 4 registrations, {} clients", clients.len());

    let ch = gmp::Chan::<u64>::new(4);
    let (back_tx, back) = gmp::chan::<gmp::Chan<u64>>(0);
    let worker = ch.clone();
    gmp::go!(worker, back_tx => {
        let n = worker.recv().unwrap();
        worker.send(n * 2);
        back_tx.send(worker);
    });
    ch.send(21);
    let returned = back.recv().unwrap();
    assert!(returned == ch, "the same channel came back");
    gmp::time::sleep(std::time::Duration::from_millis(1));
    assert_eq!(returned.recv(), Some(42));
    println!("ok: Chan<T> both ends");

    let (tx, rx) = gmp::chan::<(HashMap<String, Vec<u32>>, BTreeSet<i64>, VecDeque<char>)>(0);
    gmp::go!(tx => {
        let map = HashMap::from([("a".to_string(), vec![1, 2]), ("b".to_string(), vec![])]);
        tx.send((map, BTreeSet::from([3, -1, 2]), VecDeque::from(['x', 'y'])));
    });
    let (map, set, deque) = rx.recv().unwrap();
    assert_eq!(map["a"], [1, 2]);
    assert_eq!(
        (map.len(), set.into_iter().collect::<Vec<_>>(), deque),
        (2, vec![-1, 2, 3], VecDeque::from(['x', 'y']))
    );
    println!("ok: std collections");

    let (tx, rx) = gmp::chan::<(Shape, Labeled, gmp::Serde<Config>)>(0);
    gmp::go!(tx => {
        let config = Config { name: "c".into(), limits: HashMap::from([("gs".to_string(), 8)]) };
        tx.send((Shape::Rect { w: 2, h: 3 }, Labeled(Shape::Dot, "d".into()), gmp::Serde(config)));
    });
    let (shape, labeled, gmp::Serde(config)) = rx.recv().unwrap();
    assert_eq!((shape, labeled), (Shape::Rect { w: 2, h: 3 }, Labeled(Shape::Dot, "d".into())));
    assert_eq!((config.name.as_str(), config.limits["gs"]), ("c", 8));
    println!("ok: derived and serde messages");
}

#[derive(Debug, PartialEq, gmp::Message)]
enum Shape {
    Dot,
    Rect { w: u32, h: u32 },
}

#[derive(Debug, PartialEq, gmp::Message)]
struct Labeled(Shape, String);

#[derive(Debug, PartialEq, gmp::serde::Serialize, gmp::serde::Deserialize)]
#[serde(crate = "gmp::serde")]
struct Config {
    name: String,
    limits: HashMap<String, u32>,
}
