use ssot_core::format::edit::{ConfigDocument, Position, TaskDocument};
use ssot_core::{Format, Status, Task, TaskId};

#[test]
fn smoke() {
    let text = "# head\ntasks:\n  - id: a   # c\n    title: First\n    tags: [x]\n\n  # mid\n  - id: b\n    title: \"Second\"\n    status: todo\nafter: 1\n";
    let mut doc = TaskDocument::parse(Format::Yaml, text).unwrap();
    doc.set_status("a", Status::Done).unwrap();
    println!("{}", doc.as_str());
    doc.set_title("b", "Second: more").unwrap();
    println!("{}", doc.as_str());
    doc.update("a", |t| { t.tags.clear(); t.description = "multi\nline".into(); }).unwrap();
    println!("{}", doc.as_str());
    let mut t = Task::new(TaskId::new("c").unwrap(), "Third");
    t.tags.push(ssot_core::Tag::new("q").unwrap());
    doc.insert(t.clone(), Position::After(TaskId::new("a").unwrap())).unwrap();
    println!("{}", doc.as_str());
    doc.verify().unwrap();
    doc.remove("a").unwrap();
    println!("{}", doc.as_str());
    doc.verify().unwrap();

    let json = "{\n  \"version\": 2,\n  \"tasks\": [\n    {\n      \"id\": \"a\",\n      \"title\": \"A\"\n    },\n    {\n      \"id\": \"b\",\n      \"title\": \"B\",\n      \"tags\": [\"x\", \"y\"]\n    }\n  ]\n}\n";
    let mut doc = TaskDocument::parse(Format::Json, json).unwrap();
    doc.set_status("a", Status::InProgress).unwrap();
    doc.update("b", |t| t.tags.pop().map(|_| ()).unwrap()).unwrap();
    doc.insert(t, Position::End).unwrap();
    println!("{}", doc.as_str());
    doc.verify().unwrap();
    doc.remove("b").unwrap();
    println!("{}", doc.as_str());
    doc.verify().unwrap();

    let mut c = ConfigDocument::parse(Format::Json, "{\n  \"name\": \"x\",\n  \"scripts\": {\n    \"test\": \"jest\"\n  }\n}\n").unwrap();
    c.merge_patch(&serde_json::json!({"scripts": {"lint": "eslint", "test": null}, "private": true})).unwrap();
    println!("{}", c.as_str());
}
