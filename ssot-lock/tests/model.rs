//! Model-based property: random sequences of try_lock / try_upgrade / downgrade /
//! release across several owners and keys, checked after every step against a reference
//! model that is nothing but the compatibility table applied to a map of holders.
//!
//! With only non-waiting operations no request ever queues, so the model's answer is
//! exact: the manager must grant precisely what the table allows (never two
//! incompatible holders, never a refusal the table would grant), refuse re-entry, and
//! keep memory only for keys that are held.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use ssot_lock::LockKind::{self, Exclusive, Read, Write};
use ssot_lock::{Error, LockGuard, LockManager, Owner};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const OWNERS: usize = 4;
const KEYS: u64 = 3;

#[derive(Debug, Clone)]
enum Op {
    TryLock {
        owner: usize,
        key: u64,
        kind: LockKind,
    },
    TryUpgrade {
        owner: usize,
        key: u64,
    },
    Downgrade {
        owner: usize,
        key: u64,
        to: LockKind,
    },
    Release {
        owner: usize,
        key: u64,
    },
}

fn kind() -> impl Strategy<Value = LockKind> {
    prop_oneof![Just(Read), Just(Write), Just(Exclusive)]
}

fn op() -> impl Strategy<Value = Op> {
    let owner = 0..OWNERS;
    let key = 0..KEYS;
    prop_oneof![
        5 => (owner.clone(), key.clone(), kind()).prop_map(|(owner, key, kind)| Op::TryLock { owner, key, kind }),
        2 => (owner.clone(), key.clone()).prop_map(|(owner, key)| Op::TryUpgrade { owner, key }),
        2 => (owner.clone(), key.clone(), kind()).prop_map(|(owner, key, to)| Op::Downgrade { owner, key, to }),
        3 => (owner, key).prop_map(|(owner, key)| Op::Release { owner, key }),
    ]
}

/// The reference: who holds what, and the table.
#[derive(Default)]
struct Model {
    held: BTreeMap<(u64, usize), LockKind>,
}

impl Model {
    fn others_allow(&self, key: u64, owner: usize, kind: LockKind) -> bool {
        self.held
            .iter()
            .filter(|((k, o), _)| *k == key && *o != owner)
            .all(|(_, held)| held.compatible_with(kind))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn the_manager_grants_exactly_what_the_table_allows(ops in prop::collection::vec(op(), 1..80)) {
        let locks = LockManager::<u64>::builder().shards(2).build();
        let owners: Vec<Owner> = (0..OWNERS).map(|_| Owner::new()).collect();
        let mut guards: HashMap<(u64, usize), LockGuard<'_, u64>> = HashMap::new();
        let mut model = Model::default();
        let (mut granted, mut refused, mut upgrades) = (0u64, 0u64, 0u64);

        for op in ops {
            match op {
                Op::TryLock { owner, key, kind } => {
                    let result = locks.request(&key, kind).owner(owners[owner]).no_wait().acquire();
                    if let Some(&held) = model.held.get(&(key, owner)) {
                        prop_assert!(matches!(result, Err(Error::AlreadyHeld { kind, .. }) if kind == held), "expected AlreadyHeld");
                    } else if model.others_allow(key, owner, kind) {
                        let guard = result.map_err(|e| TestCaseError::fail(format!("refused: {e}")))?;
                        prop_assert_eq!(guard.kind(), kind);
                        guards.insert((key, owner), guard);
                        model.held.insert((key, owner), kind);
                        granted += 1;
                    } else {
                        prop_assert!(matches!(result, Err(Error::WouldBlock { .. })), "granted against the table");
                        refused += 1;
                    }
                }
                Op::TryUpgrade { owner, key } => {
                    let Some(guard) = guards.get_mut(&(key, owner)) else { continue };
                    let held = model.held[&(key, owner)];
                    let result = guard.try_upgrade();
                    match held {
                        Read => prop_assert!(matches!(result, Err(Error::InvalidUpgrade { .. })), "expected InvalidUpgrade"),
                        Exclusive => prop_assert!(result.is_ok()),
                        Write => {
                            if model.others_allow(key, owner, Exclusive) {
                                prop_assert!(result.is_ok());
                                model.held.insert((key, owner), Exclusive);
                                upgrades += 1;
                            } else {
                                prop_assert!(matches!(result, Err(Error::WouldBlock { .. })), "expected WouldBlock");
                                refused += 1;
                            }
                        }
                    }
                    prop_assert_eq!(guard.kind(), model.held[&(key, owner)]);
                }
                Op::Downgrade { owner, key, to } => {
                    let Some(guard) = guards.get_mut(&(key, owner)) else { continue };
                    let held = model.held[&(key, owner)];
                    let result = guard.downgrade(to);
                    if to > held {
                        prop_assert!(matches!(result, Err(Error::InvalidDowngrade { .. })), "expected InvalidDowngrade");
                    } else {
                        prop_assert!(result.is_ok());
                        model.held.insert((key, owner), to);
                    }
                    prop_assert_eq!(guard.kind(), model.held[&(key, owner)]);
                }
                Op::Release { owner, key } => {
                    if guards.remove(&(key, owner)).is_some() {
                        model.held.remove(&(key, owner));
                    }
                }
            }

            // After every step, the manager's view is the model's.
            for key in 0..KEYS {
                let mut actual = locks.holders(&key);
                actual.sort();
                let mut expected: Vec<(Owner, LockKind)> = model
                    .held
                    .iter()
                    .filter(|((k, _), _)| *k == key)
                    .map(|((_, o), kind)| (owners[*o], *kind))
                    .collect();
                expected.sort();
                prop_assert_eq!(&actual, &expected);
                for (i, a) in actual.iter().enumerate() {
                    for b in &actual[i + 1..] {
                        prop_assert!(a.1.compatible_with(b.1), "incompatible holders {:?} {:?}", a, b);
                    }
                }
                prop_assert!(locks.waiters(&key).is_empty());
            }
            let held_keys = (0..KEYS).filter(|k| model.held.keys().any(|(key, _)| key == k)).count();
            prop_assert_eq!(locks.active_keys(), held_keys);
        }

        drop(guards);
        prop_assert_eq!(locks.active_keys(), 0);
        let stats = locks.stats();
        prop_assert_eq!(stats.acquisitions, granted);
        prop_assert_eq!(stats.would_block, refused);
        prop_assert_eq!(stats.upgrades, upgrades);
        prop_assert_eq!(stats.contended, 0);
    }
}
