//! The request log: a bounded ring buffer with sequence numbers, so a long-running emulator
//! (benchmarks, soak tests, demos) holds at most `capacity` entries, and readers can take only
//! what is new (`since`) instead of copying the whole log.

use std::collections::VecDeque;
use std::collections::vec_deque::Iter;

use crate::types::{LoggedRequest, RequestLogStats};

/// Iterator over the request log, oldest first (see [`crate::Control::with_requests`]).
pub type RequestIter<'a> = Iter<'a, LoggedRequest>;

#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

impl RequestLog {
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            // Grows on demand: a large capacity costs nothing until it is used.
            entries: VecDeque::new(),
            capacity,
            next_seq: 1,
            dropped: 0,
        }
    }

    pub fn push(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.next_seq;
        if entry.at_unix_micros == 0 {
            entry.at_unix_micros = crate::clock::unix_micros();
        }
        self.next_seq += 1;
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// Drop the oldest entries beyond the new capacity (they count as dropped).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.entries.len() > capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries
            .shrink_to(capacity.min(self.entries.capacity()));
    }

    /// Forget every entry; sequence numbers keep counting up.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.entries.shrink_to_fit();
    }

    pub fn iter(&self) -> RequestIter<'_> {
        self.entries.iter()
    }

    /// Entries with `seq >= seq`, oldest first (binary search: entries are in `seq` order).
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &LoggedRequest> {
        let start = self.entries.partition_point(|e| e.seq < seq);
        self.entries.range(start..)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn stats(&self) -> RequestLogStats {
        RequestLogStats {
            len: self.entries.len(),
            capacity: self.capacity,
            dropped: self.dropped,
            next_seq: self.next_seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            method: "GET".into(),
            path: path.into(),
            identity_id: None,
            org_id: None,
            status: 200,
            body: None,
            user_agent: None,
            at_unix_micros: 0,
        }
    }

    #[test]
    fn ring_buffer_bounds_and_counts_drops() {
        let mut log = RequestLog::new(3);
        for i in 0..5 {
            log.push(entry(&format!("/{i}")));
        }
        let paths: Vec<&str> = log.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/2", "/3", "/4"]);
        assert!(
            log.iter().all(|e| e.at_unix_micros > 0),
            "stamped when logged"
        );
        assert_eq!(
            log.stats(),
            RequestLogStats {
                len: 3,
                capacity: 3,
                dropped: 2,
                next_seq: 6
            }
        );
        let since: Vec<u64> = log.since(4).map(|e| e.seq).collect();
        assert_eq!(since, [4, 5]);
        assert_eq!(log.since(1).count(), 3);
        assert_eq!(log.since(99).count(), 0);
        log.set_capacity(1);
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [5]);
        assert_eq!(log.stats().dropped, 4);
        log.clear();
        log.push(entry("/x"));
        assert_eq!(log.iter().next().unwrap().seq, 6);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut log = RequestLog::new(0);
        log.push(entry("/"));
        assert_eq!(log.len(), 0);
        assert_eq!(log.stats().dropped, 1);
    }
}
