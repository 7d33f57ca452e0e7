//! Main waits on nothing but a timer: a pending timer is something that will wake a G, so this is no
//! deadlock. Prints `fired`.

fn main() {
    gmp::time::after(std::time::Duration::from_millis(50)).recv().expect("a timer's channel is never closed");
    println!("fired");
}
