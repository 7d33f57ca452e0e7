//! Go by Example, *Range over Channels*: `for elem := range queue` is `for elem in queue.iter()` (or
//! `&queue`); it takes what is buffered and ends once the channel is closed and drained. Prints `one`
//! then `two`.

fn main() {
    let (queue, rx) = gmp::chan::<String>(2);
    queue.send("one".to_string());
    queue.send("two".to_string());
    queue.close();

    for elem in &rx {
        println!("{elem}");
    }
}
