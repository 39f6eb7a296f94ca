//! Waiting on the endpoint's node for the probe's packets, which the source node sends some time
//! after this node's trace was armed (once the source's own agent has started and done its
//! earlier steps). A subscription of its own to the trace events says when they came and went;
//! the armed trace reads every event again when it finishes.

use std::time::{Duration, Instant};

use crate::kernel::nftables::trace::TraceEvents;

/// After the last event of the probe's packets, how long the node stays quiet before the
/// connection is taken as over. A handshake and close take a few milliseconds; a retransmitted
/// SYN comes a second later, by when the first one's fate (dropped or passed) is known.
pub const AFTER_LAST: Duration = Duration::from_millis(300);

/// How often a wait without trace events (legacy backend) looks at `stop`.
const POLL: Duration = Duration::from_millis(20);

/// How a watch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    /// The probe's packets were traced here, and one was dropped.
    Dropped,
    /// The probe's packets were traced here and then the node went quiet.
    Passed,
    /// The caller said the source is done (the lab's done file) before the quiet came.
    Stopped,
    /// Nothing was traced before the deadline (no packet came, or nothing can be traced here).
    Nothing,
}

/// One event of the watch's stream: whether it was a drop.
pub trait EventStream {
    /// The next event before `deadline`: `Some(dropped)`, or None when none came.
    fn next_event(&mut self, deadline: Instant) -> Option<bool>;
}

impl EventStream for TraceEvents {
    fn next_event(&mut self, deadline: Instant) -> Option<bool> {
        self.next(deadline).map(|e| e.drops())
    }
}

/// Wait for the probe's packets until `deadline`, or until `stop` says the source is done.
/// `events` is None where nothing can be traced: then only `stop` or the deadline ends it.
pub fn wait(
    mut events: Option<&mut dyn EventStream>,
    deadline: Instant,
    stop: &dyn Fn() -> bool,
) -> Watched {
    let mut last: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if stop() {
            return if last.is_some() {
                Watched::Passed
            } else {
                Watched::Stopped
            };
        }
        if let Some(at) = last
            && now >= at + AFTER_LAST
        {
            return Watched::Passed;
        }
        if now >= deadline {
            return if last.is_some() {
                Watched::Passed
            } else {
                Watched::Nothing
            };
        }
        let until = last.map_or(deadline, |at| at + AFTER_LAST).min(now + POLL);
        match events.as_deref_mut() {
            Some(stream) => match stream.next_event(until) {
                Some(true) => return Watched::Dropped,
                Some(false) => last = Some(Instant::now()),
                None => {}
            },
            None => std::thread::sleep(until.saturating_duration_since(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::VecDeque;

    use super::*;

    /// Events at given offsets from the start: `(after, dropped)`.
    struct Scripted {
        start: Instant,
        events: VecDeque<(Duration, bool)>,
    }

    impl EventStream for Scripted {
        fn next_event(&mut self, deadline: Instant) -> Option<bool> {
            let (after, dropped) = *self.events.front()?;
            let at = self.start + after;
            if at > deadline {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                return None;
            }
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            self.events.pop_front();
            Some(dropped)
        }
    }

    fn scripted(events: &[(u64, bool)]) -> Scripted {
        Scripted {
            start: Instant::now(),
            events: (events.iter())
                .map(|(ms, d)| (Duration::from_millis(*ms), *d))
                .collect(),
        }
    }

    #[test]
    fn a_drop_ends_the_watch_at_once() {
        let mut s = scripted(&[(10, false), (20, true), (30, false)]);
        let t = Instant::now();
        let w = wait(Some(&mut s), t + Duration::from_secs(5), &|| false);
        assert_eq!(w, Watched::Dropped);
        assert!(
            t.elapsed() < Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn packets_that_pass_end_the_watch_after_a_quiet_spell() {
        let mut s = scripted(&[(30, false), (40, false)]);
        let t = Instant::now();
        let w = wait(Some(&mut s), t + Duration::from_secs(5), &|| false);
        assert_eq!(w, Watched::Passed);
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(40) + AFTER_LAST, "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn nothing_traced_waits_for_the_deadline_or_the_stop() {
        let mut s = scripted(&[]);
        let t = Instant::now();
        let w = wait(Some(&mut s), t + Duration::from_millis(100), &|| false);
        assert_eq!(w, Watched::Nothing);
        assert!(t.elapsed() >= Duration::from_millis(100));

        let polls = Cell::new(0);
        let stop = || {
            polls.set(polls.get() + 1);
            polls.get() > 3
        };
        let t = Instant::now();
        assert_eq!(
            wait(None, t + Duration::from_secs(5), &stop),
            Watched::Stopped
        );
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
}
