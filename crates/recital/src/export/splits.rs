//! Train, dev and test, speaker-disjoint: a model evaluated on voices it trained on
//! looks better than it is, so each speaker's clips all go to one split. The assignment
//! is a deterministic greedy fill towards 80/10/10 of the clips, biggest speakers first.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The part of a dataset a speaker's clips belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// What a model learns from: about 80 % of the clips.
    Train,
    /// What it is tuned on while training: about 10 % (Hugging Face's "validation").
    Dev,
    /// What it is finally measured on: about 10 %.
    Test,
}

impl Split {
    /// Every split, in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

    /// The name used for folders, files and columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Target shares of the clips, in tenths: train, dev, test.
const TENTHS: [u64; 3] = [8, 1, 1];

/// Speaker-disjoint train/dev/test assignment of speakers (by their clip counts).
///
/// Speakers are taken by descending clip count, ties by id; each goes to the split
/// furthest below its share of the clips seen so far (ties to train, then dev). With
/// fewer than three speakers everyone is in train; otherwise dev and test get at least
/// one speaker each, taken from the smallest speakers of a split that has two or more.
/// Train is never empty. The same input always gives the same answer.
pub fn assign_splits(clips_per_speaker: &BTreeMap<String, u64>) -> BTreeMap<String, Split> {
    let mut order: Vec<(&String, u64)> = clips_per_speaker.iter().map(|(s, n)| (s, *n)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    if order.len() < 3 {
        return order
            .into_iter()
            .map(|(s, _)| (s.clone(), Split::Train))
            .collect();
    }

    let mut members: [Vec<&String>; 3] = Default::default();
    let mut clips = [0u64; 3];
    let mut total = 0u64;
    for (speaker, n) in order {
        total = total.saturating_add(n);
        // How far each split would be below its share, in tenths of a clip.
        let deficit =
            |i: usize| i128::from(TENTHS[i]) * i128::from(total) - 10 * i128::from(clips[i]);
        let mut pick = 0;
        for i in 1..3 {
            if deficit(i) > deficit(pick) {
                pick = i;
            }
        }
        clips[pick] = clips[pick].saturating_add(n);
        members[pick].push(speaker);
    }

    for empty in [Split::Dev.index(), Split::Test.index()] {
        if !members[empty].is_empty() {
            continue;
        }
        let donor = [
            Split::Train.index(),
            Split::Dev.index(),
            Split::Test.index(),
        ]
        .into_iter()
        .find(|&d| d != empty && members[d].len() >= 2)
        .expect("three or more speakers leave a split with two");
        let moved = members[donor].pop().expect("the donor has speakers");
        members[empty].push(moved);
    }

    let mut out = BTreeMap::new();
    for split in Split::ALL {
        for speaker in &members[split.index()] {
            out.insert((*speaker).clone(), split);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counts(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    fn shares(counts: &BTreeMap<String, u64>, splits: &BTreeMap<String, Split>) -> [u64; 3] {
        let mut out = [0; 3];
        for (speaker, n) in counts {
            out[splits[speaker].index()] += n;
        }
        out
    }

    #[test]
    fn fewer_than_three_speakers_all_train() {
        assert!(assign_splits(&BTreeMap::new()).is_empty());
        let two = counts(&[("a", 10), ("b", 1)]);
        assert!(assign_splits(&two).values().all(|s| *s == Split::Train));
    }

    #[test]
    fn three_speakers_fill_every_split() {
        let splits = assign_splits(&counts(&[("a", 5), ("b", 5), ("c", 5)]));
        assert_eq!(splits["a"], Split::Train, "the first speaker trains");
        let mut used: Vec<Split> = splits.values().copied().collect();
        used.sort();
        assert_eq!(used, [Split::Train, Split::Dev, Split::Test]);
        let lopsided = assign_splits(&counts(&[("big", 1000), ("x", 1), ("y", 1)]));
        assert_eq!(lopsided["big"], Split::Train);
        assert_eq!(lopsided["x"], Split::Dev);
        assert_eq!(lopsided["y"], Split::Test);
    }

    #[test]
    fn many_speakers_come_near_80_10_10() {
        let c: BTreeMap<String, u64> = (0..200)
            .map(|i| (format!("speaker-{i:03}"), 5 + (i * 37 % 50)))
            .collect();
        let total: u64 = c.values().sum();
        let [train, dev, test] = shares(&c, &assign_splits(&c));
        for (got, want) in [(train, 0.8), (dev, 0.1), (test, 0.1)] {
            let share = got as f64 / total as f64;
            assert!((share - want).abs() < 0.02, "{share} vs {want}");
        }
    }

    #[test]
    fn ties_are_broken_by_speaker_id() {
        let c = counts(&[("b", 3), ("a", 3), ("c", 3), ("d", 3)]);
        let splits = assign_splits(&c);
        assert_eq!(
            splits["a"],
            Split::Train,
            "a comes before b at equal counts"
        );
        assert_eq!(splits, assign_splits(&c.clone()));
    }

    proptest! {
        #[test]
        fn every_speaker_gets_one_split(
            c in prop::collection::btree_map("[a-f0-9]{1,6}", 0u64..60, 0..40)
        ) {
            let splits = assign_splits(&c);
            prop_assert_eq!(
                splits.keys().collect::<Vec<_>>(),
                c.keys().collect::<Vec<_>>(),
                "every speaker is assigned, once"
            );
            prop_assert_eq!(&splits, &assign_splits(&c), "deterministic");
            let mut used = [0usize; 3];
            for s in splits.values() {
                used[s.index()] += 1;
            }
            if c.len() < 3 {
                prop_assert_eq!(used[0], c.len());
            } else {
                prop_assert!(used.iter().all(|n| *n >= 1), "{:?}", used);
            }
            let [train, dev, test] = shares(&c, &splits);
            prop_assert_eq!(train + dev + test, c.values().sum::<u64>());
        }
    }
}
