//! Goroutine dumps, and a deadlock report that says why nothing can move.
//!
//! # What a G shows, and where it comes from
//! A dump lists every G of a run as Go's traceback does: `goroutine N [status, how long]:`, what it waits
//! on, its stack (callee first, each frame with its source line), and `created by goroutine M`. A parked G's
//! stack and the channels it holds are read from inside its own suspended fiber by an *inspection poll*
//! (`gmp_sched::inspect`): every blocking ABI call waits through [`parked`], which answers such a poll with
//! the G's wasm backtrace and its handle table's channels, and touches nothing else. The guest does nothing
//! for it. A G that an M is running, or that sits on a run queue, shows no stack (Go prints a running
//! goroutine's the same way: "stack unavailable").
//!
//! # The deadlock report
//! Every G is parked at a deadlock, so every one is inspected, and the report knows, for each channel, which
//! Gs hold a handle to it. For each blocked G it says who else could complete its wait: "no other goroutine
//! holds chan #7" (nothing can ever send or receive there), or the other holders and what each of them is
//! itself waiting for. Then it names the cycles of the wait-for graph (a G waits for the other holders of
//! the channels it waits on), each as a closed path: "goroutine 1 waits on chan #9, held only by goroutine
//! 2; goroutine 2 waits on chan #7, held only by goroutine 1".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use gmp_sched::{GDump, GStatus, Inspection, WaitReason};
use wasmtime::{Caller, WasmBacktrace};

use crate::gstore::GData;

/// Wait for `fut` as a blocking ABI call does, answering inspection polls meanwhile: with the G's stack,
/// the channels it holds, and `waits_on` (the channels `fut` could complete on). An inspection poll never
/// polls `fut`, so it cannot complete, start or lose a channel operation.
///
/// A future of its own rather than an `async fn`: that kept `fut` twice (the argument, and its pinned move),
/// and a parked G holds this future all its wait.
pub(crate) fn parked<'a, 'c, F: Future>(
    caller: &'a mut Caller<'c, GData>,
    waits_on: &'a [u64],
    fut: F,
) -> Parked<'a, 'c, F> {
    Parked { fut, caller, waits_on }
}

pin_project_lite::pin_project! {
    /// The future of [`parked`].
    pub(crate) struct Parked<'a, 'c, F> {
        #[pin]
        fut: F,
        // Owned `&mut` to the caller, so the future needs no `Sync` store data.
        caller: &'a mut Caller<'c, GData>,
        waits_on: &'a [u64],
    }
}

impl<F: Future> Future for Parked<'_, '_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if gmp_sched::inspecting() {
            gmp_sched::inspected(inspect(this.caller, this.waits_on));
            return Poll::Pending;
        }
        let r = this.fut.poll(cx);
        if r.is_pending() {
            gmp_sched::park_inspectable();
        }
        r
    }
}

/// What a parked G knows about itself, read inside its fiber.
fn inspect(caller: &mut Caller<'_, GData>, waits_on: &[u64]) -> Inspection {
    let bt = WasmBacktrace::force_capture(&*caller);
    let run = caller.data().run.clone();
    // Demangling is half the cost of a G's stack, and a dump of many Gs sees the same few functions.
    let mut names = run.frame_names.lock();
    let frames: Vec<(std::sync::Arc<str>, String)> = bt
        .frames()
        .iter()
        .map(|f| {
            let name = names.entry(f.func_index()).or_insert_with(|| crate::gstore::frame_name(f).into()).clone();
            (name, crate::gstore::frame_source(f))
        })
        .collect();
    drop(names);
    // The program's startup below `main` (or the SDK's spawn below a G's function) says nothing.
    let bottom = frames.iter().rev().take_while(|(name, _)| crate::gstore::is_startup(name)).count();
    let shown = if bottom < frames.len() { &frames[..frames.len() - bottom] } else { &frames[..] };
    let mut stack = String::new();
    for (name, source) in shown {
        let _ = writeln!(stack, "{name}\n\t{source}");
    }
    Inspection { stack, holds: caller.data().handles.chan_ids(), waits_on: waits_on.to_vec() }
}

/// A dump of every G of a run, as [`RunHandle::dump`](crate::RunHandle::dump) takes it; `Display` writes it
/// as Go's traceback does.
#[derive(Clone, Debug)]
pub struct Dump {
    /// The run's Gs, in id order.
    pub goroutines: Vec<GDump>,
}

impl std::fmt::Display for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, g) in self.goroutines.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&goroutine(g, None))?;
        }
        Ok(())
    }
}

/// One G as Go's traceback prints it; `why` (the deadlock report's line on who else holds its channel)
/// goes under the header in place of the plain "waiting on".
pub(crate) fn goroutine(g: &GDump, why: Option<&str>) -> String {
    let mut s = format!("goroutine {} [{}]:\n", g.id, status(g));
    match why {
        Some(why) => {
            let _ = writeln!(s, "\t{why}");
        }
        None => {
            if let Some(on) = waits_on(g) {
                let _ = writeln!(s, "\t{on}");
            }
        }
    }
    match (&g.inspection, g.status) {
        (Some(i), _) if !i.stack.is_empty() => s.push_str(&i.stack),
        (Some(_), _) => s.push_str("\t(no wasm frames)\n"),
        (None, GStatus::Running) => s.push_str("\tgoroutine running on other thread; stack unavailable\n"),
        (None, GStatus::Runnable) => s.push_str("\tgoroutine queued to run; stack unavailable\n"),
        (None, _) => s.push_str("\tparked inside a host call; stack unavailable\n"),
    }
    if g.created_by != 0 {
        let _ = writeln!(s, "created by goroutine {}", g.created_by);
    }
    s
}

/// The bracket of the header: Go's status words, and for a wait of a minute or more, how long (Go shows
/// shorter waits without a time).
fn status(g: &GDump) -> String {
    let word = match g.status {
        GStatus::Running => "running",
        GStatus::Runnable => "runnable",
        GStatus::Dead => "dead",
        GStatus::Waiting => g.reason.as_str(),
    };
    match minutes(g.waiting) {
        Some(m) => format!("{word}, {m} minute{}", if m == 1 { "" } else { "s" }),
        None => word.to_string(),
    }
}

fn minutes(d: Duration) -> Option<u64> {
    let m = d.as_secs() / 60;
    (m > 0).then_some(m)
}

/// "waiting to receive on chan #7", or None for a G that waits on no object.
fn waits_on(g: &GDump) -> Option<String> {
    if g.status != GStatus::Waiting {
        return None;
    }
    Some(match g.reason {
        WaitReason::ChanReceive => format!("waiting to receive on chan #{}", g.obj),
        WaitReason::ChanSend => format!("waiting to send on chan #{}", g.obj),
        WaitReason::Select => {
            let chans = g.inspection.as_ref().map(|i| i.waits_on.clone()).filter(|c| !c.is_empty());
            match chans {
                Some(c) => format!("waiting in a select on {}", list(c.iter().map(|c| format!("chan #{c}")))),
                None => format!("waiting in a select (first case on chan #{})", g.obj),
            }
        }
        WaitReason::SelectNoCases => "blocked forever in an empty select".into(),
        _ => return None,
    })
}

/// The channels a blocked G's wait could complete on.
fn wait_chans(g: &GDump) -> Vec<u64> {
    match g.reason {
        WaitReason::ChanReceive | WaitReason::ChanSend => vec![g.obj],
        WaitReason::Select => match &g.inspection {
            Some(i) if !i.waits_on.is_empty() => i.waits_on.clone(),
            _ => vec![g.obj],
        },
        _ => Vec::new(),
    }
}

/// "a", "a and b", "a, b and c".
fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().collect();
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

/// Go's deadlock report, each G explained by who else holds what it waits on, and the cycles named.
pub(crate) fn deadlock_report(gs: &[GDump]) -> String {
    // Which Gs hold each channel: known for every inspected G (at a deadlock, every G parked in our calls).
    let mut holders: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for g in gs {
        for &c in g.inspection.iter().flat_map(|i| &i.holds) {
            holders.entry(c).or_default().insert(g.id);
        }
    }
    let known = |g: &GDump| g.inspection.is_some();
    let by_id: BTreeMap<u64, &GDump> = gs.iter().map(|g| (g.id, g)).collect();
    let others = |g: &GDump, c: u64| -> Vec<u64> {
        holders.get(&c).map(|h| h.iter().copied().filter(|&o| o != g.id).collect()).unwrap_or_default()
    };
    // What another holder is doing, in a few words.
    let doing = |o: u64| -> String {
        match by_id.get(&o).and_then(|d| waits_on(d)) {
            Some(w) => w.replacen("waiting", "waits", 1),
            None => "is not blocked on a channel".into(),
        }
    };

    let mut s = String::from("fatal error: all goroutines are asleep - deadlock!\n");
    for g in gs {
        let chans = wait_chans(g);
        let why = match waits_on(g) {
            Some(on) if known(g) && !chans.is_empty() => {
                let parts: Vec<String> = chans
                    .iter()
                    .map(|&c| match others(g, c).as_slice() {
                        [] => format!("no other goroutine holds chan #{c}"),
                        [o] => format!("its only other holder of chan #{c}, goroutine {o}, {}", doing(*o)),
                        os => format!(
                            "chan #{c} is also held by {}",
                            list(os.iter().map(|o| format!("goroutine {o}, which {}", doing(*o))))
                        ),
                    })
                    .collect();
                Some(format!("{on}; {}", parts.join("; ")))
            }
            other => other,
        };
        s.push('\n');
        s.push_str(&goroutine(g, why.as_deref()));
    }
    for cycle in cycles(gs, &holders) {
        s.push_str(&cycle_line(&cycle, &holders));
    }
    s
}

/// One step of a cycle: G `g` waits on chan `c`, which the next G of the cycle holds.
type Step = (u64, u64);

/// The wait-for graph's cycles, one closed path per strongly connected component of two or more Gs,
/// through its lowest G. (A G can wait only for the *other* holders of its channels, so a component of
/// one G has no cycle.)
fn cycles(gs: &[GDump], holders: &BTreeMap<u64, BTreeSet<u64>>) -> Vec<Vec<Step>> {
    // Edges g → (chan, holder): the holder could complete g's wait on chan.
    let mut edges: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    for g in gs.iter().filter(|g| g.inspection.is_some()) {
        for c in wait_chans(g) {
            for &h in holders.get(&c).into_iter().flatten() {
                if h != g.id {
                    edges.entry(g.id).or_default().push((c, h));
                }
            }
        }
    }
    let comps = sccs(&edges);
    let mut out = Vec::new();
    for comp in comps.iter().filter(|c| c.len() > 1) {
        let start = *comp.iter().min().expect("a component has a G");
        if let Some(path) = path_back(start, &edges, comp) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Tarjan's strongly connected components, iteratively (a deadlock may involve 100k Gs).
fn sccs(edges: &BTreeMap<u64, Vec<(u64, u64)>>) -> Vec<BTreeSet<u64>> {
    let mut nodes: BTreeSet<u64> = edges.keys().copied().collect();
    nodes.extend(edges.values().flatten().map(|&(_, h)| h));
    let mut index: BTreeMap<u64, (usize, usize)> = BTreeMap::new(); // node → (index, lowlink)
    let mut on_stack = BTreeSet::new();
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    let succ = |n: u64| edges.get(&n).map(|v| v.iter().map(|&(_, h)| h).collect::<Vec<_>>()).unwrap_or_default();
    for &root in &nodes {
        if index.contains_key(&root) {
            continue;
        }
        // Frames of the depth-first search: (node, its successors, how many were visited).
        let mut work: Vec<(u64, Vec<u64>, usize)> = vec![(root, succ(root), 0)];
        index.insert(root, (next, next));
        next += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some((n, succs, i)) = work.last_mut() {
            let n = *n;
            if let Some(&m) = succs.get(*i) {
                *i += 1;
                match index.get(&m) {
                    None => {
                        index.insert(m, (next, next));
                        next += 1;
                        stack.push(m);
                        on_stack.insert(m);
                        work.push((m, succ(m), 0));
                    }
                    Some(&(mi, _)) if on_stack.contains(&m) => {
                        let e = index.get_mut(&n).expect("visited");
                        e.1 = e.1.min(mi);
                    }
                    Some(_) => {}
                }
                continue;
            }
            work.pop();
            let (ni, nl) = index[&n];
            if let Some((parent, _, _)) = work.last() {
                let p = index.get_mut(parent).expect("visited");
                p.1 = p.1.min(nl);
            }
            if nl == ni {
                let mut comp = BTreeSet::new();
                while let Some(m) = stack.pop() {
                    on_stack.remove(&m);
                    comp.insert(m);
                    if m == n {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

/// A shortest path from `start` back to itself inside `comp` (breadth first), as steps.
fn path_back(start: u64, edges: &BTreeMap<u64, Vec<(u64, u64)>>, comp: &BTreeSet<u64>) -> Option<Vec<Step>> {
    let mut prev: BTreeMap<u64, (u64, u64)> = BTreeMap::new(); // node → (from, chan)
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for &(c, h) in edges.get(&n).into_iter().flatten() {
            if !comp.contains(&h) {
                continue;
            }
            if h == start {
                let mut steps = vec![(n, c)];
                let mut at = n;
                while at != start {
                    let (from, chan) = prev[&at];
                    steps.push((from, chan));
                    at = from;
                }
                steps.reverse();
                return Some(steps);
            }
            if h != start && !prev.contains_key(&h) {
                prev.insert(h, (n, c));
                queue.push_back(h);
            }
        }
    }
    None
}

/// "cycle: goroutine 1 waits on chan #9, held only by goroutine 2; goroutine 2 waits on chan #7, held
/// only by goroutine 1."
fn cycle_line(cycle: &[Step], holders: &BTreeMap<u64, BTreeSet<u64>>) -> String {
    let n = cycle.len();
    let parts: Vec<String> = cycle
        .iter()
        .enumerate()
        .map(|(i, &(g, c))| {
            let next = cycle[(i + 1) % n].0;
            let others = holders.get(&c).map_or(0, |h| h.iter().filter(|&&o| o != g).count());
            let held = if others == 1 { "held only by" } else { "held by" };
            format!("goroutine {g} waits on chan #{c}, {held} goroutine {next}")
        })
        .collect();
    format!("\ncycle: {}.\n", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(id: u64, reason: WaitReason, obj: u64, holds: &[u64]) -> GDump {
        let mut g = GDump::waiting_on(id, reason, obj);
        g.inspection = Some(Inspection {
            stack: format!("app::g{id}\n\tsrc/main.rs:{id}\n"),
            holds: holds.to_vec(),
            waits_on: vec![],
        });
        g.created_by = if id == 1 { 0 } else { 1 };
        g
    }

    #[test]
    fn two_gs_waiting_on_each_other_are_named_as_a_cycle() {
        let r = deadlock_report(&[
            blocked(1, WaitReason::ChanReceive, 9, &[7, 9]),
            blocked(2, WaitReason::ChanSend, 7, &[7, 9]),
        ]);
        assert!(
            r.contains(
                "goroutine 1 [chan receive]:\n\twaiting to receive on chan #9; its only other holder of chan #9, \
                 goroutine 2, waits to send on chan #7\napp::g1\n\tsrc/main.rs:1\n"
            ),
            "{r}"
        );
        assert!(r.contains("goroutine 2 [chan send]:\n\twaiting to send on chan #7; its only other holder"), "{r}");
        assert!(r.contains("created by goroutine 1"), "{r}");
        assert!(
            r.ends_with(
                "\ncycle: goroutine 1 waits on chan #9, held only by goroutine 2; goroutine 2 waits on chan #7, \
                 held only by goroutine 1.\n"
            ),
            "{r}"
        );
    }

    #[test]
    fn a_channel_no_one_else_holds_is_called_out_and_is_no_cycle() {
        let r =
            deadlock_report(&[blocked(1, WaitReason::ChanReceive, 4, &[4]), blocked(2, WaitReason::ChanSend, 5, &[5])]);
        assert!(r.contains("waiting to receive on chan #4; no other goroutine holds chan #4\n"), "{r}");
        assert!(r.contains("waiting to send on chan #5; no other goroutine holds chan #5\n"), "{r}");
        assert!(!r.contains("cycle:"), "{r}");
    }

    #[test]
    fn a_ring_of_three_is_one_cycle_and_a_bystander_is_not_in_it() {
        // 1 → 2 → 3 → 1 over channels 10, 20, 30; G 4 waits on 30 too but nobody waits on G 4's channel.
        let r = deadlock_report(&[
            blocked(1, WaitReason::ChanSend, 10, &[30, 10]),
            blocked(2, WaitReason::ChanSend, 20, &[10, 20]),
            blocked(3, WaitReason::ChanSend, 30, &[20, 30]),
            blocked(4, WaitReason::ChanReceive, 30, &[30]),
        ]);
        let cycles: Vec<&str> = r.lines().filter(|l| l.starts_with("cycle:")).collect();
        assert_eq!(
            cycles,
            vec![
                "cycle: goroutine 1 waits on chan #10, held only by goroutine 2; goroutine 2 waits on chan #20, held \
                 only by goroutine 3; goroutine 3 waits on chan #30, held by goroutine 1."
            ],
            "{r}"
        );
        assert!(r.contains("chan #30 is also held by goroutine 1, which waits to send on chan #10 and goroutine 3, which waits to send on chan #30"), "{r}");
    }

    #[test]
    fn statuses_and_long_waits_read_as_go_prints_them() {
        let mut g = GDump::waiting_on(3, WaitReason::ChanReceive, 7);
        g.waiting = Duration::from_secs(185);
        assert!(
            goroutine(&g, None)
                .starts_with("goroutine 3 [chan receive, 3 minutes]:\n\twaiting to receive on chan #7\n")
        );
        g.waiting = Duration::from_secs(59);
        assert!(goroutine(&g, None).starts_with("goroutine 3 [chan receive]:\n"));
        g.status = GStatus::Running;
        assert_eq!(
            goroutine(&g, None),
            "goroutine 3 [running]:\n\tgoroutine running on other thread; stack unavailable\n"
        );
    }
}
