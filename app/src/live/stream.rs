//! Streams on the project channel (run output, terminal output): each event carries the byte
//! offset `at` of its data, and a tab that took a replay ending at `received` joins the live
//! events without a gap or a repeat.

/// What an output event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Appended,
    /// Already had it (it was in the replay).
    Duplicate,
    /// Something was missed: fetch the replay again.
    Gap,
}

impl Applied {
    /// What an event at `at` does to a stream received up to `received`.
    pub fn join(received: u64, at: u64) -> Applied {
        match at.cmp(&received) {
            std::cmp::Ordering::Less => Applied::Duplicate,
            std::cmp::Ordering::Equal => Applied::Appended,
            std::cmp::Ordering::Greater => Applied::Gap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_join_at_the_offset() {
        assert_eq!(Applied::join(10, 10), Applied::Appended);
        assert_eq!(Applied::join(10, 4), Applied::Duplicate);
        assert_eq!(Applied::join(10, 11), Applied::Gap);
    }
}
