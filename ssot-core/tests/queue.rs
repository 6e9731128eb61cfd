//! `TaskQueue` against a reference model: a `Vec` kept sorted by the documented order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use ssot_core::{Error, Task, TaskQueue};

#[derive(Debug, Clone)]
enum Op {
    Push(Box<Task>),
    Pop,
    /// Pop the first task whose id's length has this parity: an arbitrary readiness rule.
    PopNext(bool),
    Remove(usize),
    Peek,
}

fn arb_op() -> impl Strategy<Value = Op> {
    // Few distinct ids and timestamps, so duplicates and ties are common.
    let task = (
        "[a-e]{1,2}",
        common::arb_priority(),
        proptest::option::of(0i64..4),
    )
        .prop_map(|(id, priority, created)| {
            let mut t = Task::new(id.parse().unwrap(), "t");
            t.priority = priority;
            t.created_at = created.map(|s| jiff::Timestamp::from_second(s).unwrap());
            t
        });
    prop_oneof![
        4 => task.prop_map(|t| Op::Push(Box::new(t))),
        1 => Just(Op::Pop),
        2 => any::<bool>().prop_map(Op::PopNext),
        2 => (0usize..40).prop_map(Op::Remove),
        1 => Just(Op::Peek),
    ]
}

/// The documented order, spelled out independently of the implementation.
fn model_key(t: &Task) -> (ssot_core::Priority, bool, Option<jiff::Timestamp>, String) {
    (
        t.priority,
        t.created_at.is_none(),
        t.created_at,
        t.id.as_str().to_owned(),
    )
}

fn ready(parity: bool) -> impl Fn(&Task) -> bool {
    move |t: &Task| t.id.as_str().len().is_multiple_of(2) == parity
}

proptest! {
    #![proptest_config(common::cases(256))]

    #[test]
    fn queue_matches_sorted_vec_model(
        ops in proptest::collection::vec(arb_op(), 0..60),
        max_size in proptest::option::of(0usize..8),
    ) {
        let mut queue = max_size.map_or_else(TaskQueue::new, TaskQueue::with_max_size);
        let mut model: Vec<Task> = Vec::new();
        for op in ops {
            match op {
                Op::Push(task) => {
                    let task = *task;
                    let result = queue.push(task.clone());
                    if model.iter().any(|t| t.id == task.id) {
                        prop_assert!(matches!(result, Err(Error::DuplicateTask { .. })), "expected a duplicate error");
                    } else if max_size.is_some_and(|m| model.len() >= m) {
                        prop_assert!(matches!(result, Err(Error::QueueFull { .. })), "expected a full-queue error");
                    } else {
                        prop_assert!(result.is_ok());
                        model.push(task);
                        model.sort_by_key(model_key);
                    }
                }
                Op::Pop => {
                    let expected = if model.is_empty() { None } else { Some(model.remove(0)) };
                    prop_assert_eq!(queue.pop(), expected);
                }
                Op::PopNext(parity) => {
                    let expected = model
                        .iter()
                        .position(ready(parity))
                        .map(|i| model.remove(i));
                    prop_assert_eq!(queue.pop_next(ready(parity)), expected);
                }
                Op::Remove(i) => {
                    // Remove an id that is queued (when i is in range) or one that is not.
                    let id = model.get(i).map_or("zz".to_owned(), |t| t.id.to_string());
                    let expected = model.iter().position(|t| t.id == id.as_str()).map(|p| model.remove(p));
                    prop_assert_eq!(queue.remove(&id), expected);
                }
                Op::Peek => prop_assert_eq!(queue.peek(), model.first()),
            }
            prop_assert_eq!(queue.len(), model.len());
            prop_assert!(queue.iter().eq(model.iter()));
            if let Some(m) = max_size {
                prop_assert!(queue.len() <= m);
            }
            for t in &model {
                prop_assert_eq!(queue.get(t.id.as_str()), Some(t));
            }
        }
    }
}
