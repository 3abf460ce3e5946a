//! Verifying many messages in one process (design.md §7): a process start and the profile and
//! key loading are paid once, and the messages are spread over the available cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` applied to every item on `workers` threads; results in the order of `items`.
pub fn parallel_map<T, R, F>(items: &[T], workers: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = workers.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    // Work-stealing by index: a slow message does not hold up a whole chunk.
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker that panicked loses its results; the panic is re-raised by scope anyway.
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::parallel_map;

    #[test]
    fn keeps_order_and_covers_everything() {
        let items: Vec<u32> = (0..1000).collect();
        for workers in [1, 2, 7] {
            let out = parallel_map(&items, workers, |x| x * 2);
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(parallel_map(&[] as &[u32], 4, |x| *x).is_empty());
    }
}
