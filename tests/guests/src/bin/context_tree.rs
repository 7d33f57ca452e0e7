//! `gmp::context`, `ErrGroup`, `after_func` and `num_goroutine`, as Go programs use them. One line per check:
//! - `tree: 12 workers canceled`: cancelling a root reaches every G waiting on a grandchild;
//! - `deadline: inherited, exceeded`: a child of a context with a timeout inherits its deadline and ends
//!   with `DeadlineExceeded` when it passes;
//! - `child: parent untouched`: cancelling a child leaves its parent running;
//! - `errgroup: part 7 failed, ok group ok`: the first error wins and cancels the group's context;
//! - `after_func: 50 fired, 50 stopped`;
//! - `goroutines: 1`: once everything is over, every watcher and worker G has ended.

use std::time::Duration;

use gmp::context::{Context, Error};
use gmp::sync::ErrGroup;

fn main() {
    tree();
    deadline();
    child_only();
    errgroup();
    after_funcs();
    // Watcher Gs end when their context is done; give the last ones a moment to run.
    for _ in 0..100 {
        if gmp::num_goroutine() == 1 {
            break;
        }
        gmp::time::sleep(Duration::from_millis(5));
    }
    println!("goroutines: {}", gmp::num_goroutine());
}

fn tree() {
    let (root, cancel) = Context::background().with_cancel();
    let (mid, _cancel_mid) = root.with_cancel();
    let (leaf, _cancel_leaf) = mid.with_timeout(Duration::from_secs(3600));
    let (tx, rx) = gmp::chan::<String>(0);
    for _ in 0..12 {
        let (leaf, tx) = (leaf.clone(), tx.clone());
        gmp::go!(leaf, tx => {
            gmp::select! { recv(leaf.done()) -> _ => {} }
            tx.send(format!("{:?}", leaf.err()));
        });
    }
    gmp::time::sleep(Duration::from_millis(5));
    assert_eq!((root.err(), leaf.err()), (None, None));
    cancel.cancel();
    let canceled = rx.iter().take(12).filter(|e| e == "Some(Canceled)").count();
    assert_eq!((mid.err(), leaf.err()), (Some(Error::Canceled), Some(Error::Canceled)));
    println!("tree: {canceled} workers canceled");
}

fn deadline() {
    let (parent, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
    let (child, cancel_child) = parent.with_cancel();
    assert_eq!(child.deadline(), parent.deadline());
    gmp::select! { recv(child.done()) -> _ => {} }
    assert_eq!((parent.err(), child.err()), (Some(Error::DeadlineExceeded), Some(Error::DeadlineExceeded)));
    cancel_child.cancel(); // too late: the reason stays
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
    println!("deadline: inherited, exceeded");
}

fn child_only() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_cancel();
    cancel_child.cancel();
    gmp::select! { recv(child.done()) -> _ => {} }
    gmp::time::sleep(Duration::from_millis(5));
    assert_eq!((parent.err(), child.err()), (None, Some(Error::Canceled)));
    cancel_parent.cancel();
    println!("child: parent untouched");
}

fn errgroup() {
    let (group, ctx) = ErrGroup::with_context(&Context::background());
    for part in 0..20u32 {
        group.go((part, ctx.clone()), |(part, ctx)| {
            if part == 7 {
                gmp::time::sleep(Duration::from_millis(2));
                return Err(format!("part {part} failed"));
            }
            gmp::select! { recv(ctx.done()) -> _ => {} }
            Ok(())
        });
    }
    let failed = group.wait().unwrap_err();
    assert_eq!(ctx.err(), Some(Error::Canceled));
    let fine = ErrGroup::new();
    for part in 0..5u32 {
        fine.go(part, |_| Ok(()));
    }
    let ok = if fine.wait().is_ok() { "ok" } else { "failed" };
    println!("errgroup: {failed}, ok group {ok}");
}

fn after_funcs() {
    // Due in 200 ms or more: long enough that the stops below always come first, however loaded the box.
    let (tx, rx) = gmp::chan::<u32>(100);
    let pending: Vec<_> = (0..100u32)
        .map(|i| {
            let d = Duration::from_millis(200 + u64::from(i % 7));
            gmp::time::after_func(d, (i, tx.clone()), |(i, tx)| tx.send(i))
        })
        .collect();
    let stopped = pending.iter().step_by(2).filter(|p| p.stop()).count();
    let mut fired = Vec::new();
    while fired.len() < 100 - stopped {
        gmp::select! {
            recv(rx) -> i => fired.push(i.unwrap()),
            recv(gmp::time::after(Duration::from_secs(30))) -> _ => panic!("only {} calls ran", fired.len()),
        }
    }
    gmp::time::sleep(Duration::from_millis(20));
    assert!(rx.try_recv().is_err(), "a stopped call ran");
    assert!(fired.iter().all(|i| i % 2 == 1), "a stopped call ran: {fired:?}");
    assert!(pending.iter().all(|p| !p.stop()), "every call has run or been stopped");
    println!("after_func: {} fired, {stopped} stopped", fired.len());
}
