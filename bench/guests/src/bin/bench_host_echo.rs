//! The guest half of the host↔guest round trip: receives numbers on the host channel "ping" and answers
//! each plus one on "pong", until "ping" is closed. Prints nothing.

fn main() {
    let (_, ping) = gmp::host_chan::<u64>("ping").expect("no host channel \"ping\"");
    let (pong, _) = gmp::host_chan::<u64>("pong").expect("no host channel \"pong\"");
    for v in &ping {
        pong.send(v + 1);
    }
}
