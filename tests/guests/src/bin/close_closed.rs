//! Closing a closed channel panics: the runtime traps the G. Prints `before`.

fn main() {
    let (tx, _rx) = gmp::chan::<u32>(1);
    println!("before");
    tx.close();
    tx.close();
    println!("after: the second close returned");
}
