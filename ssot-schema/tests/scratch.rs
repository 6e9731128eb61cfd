use ssot_schema::*;
#[test]
fn scratch() {
    let mut r = SchemaRegistry::new();
    r.register_builtins().unwrap();
    let rep = r.validate_yaml(builtin::TASK_LIST, "tasks:\n  - id: a b\n    title: x\n    prioirty: high\n    estimated_time: 5 minutes\n    status: wip\n").unwrap();
    println!("{rep}");
    println!("{}", serde_json::to_string_pretty(&rep).unwrap());
    let rep = r.validate_json(builtin::TASK_LIST, "[{\"title\": 3, \"created_at\": \"2026-01-01\"}]").unwrap();
    println!("{rep}");
    let mut r2 = SchemaRegistry::new();
    println!("{:?}", r2.register("a", serde_json::json!({"$ref": "b"})));
    println!("{:?}", r2.register("a", serde_json::json!({"$ref": "#/$defs/x"})));
    println!("{:?}", r2.register("a", serde_json::json!({"$ref": "http://example.com/x.json"})));
    println!("{:?}", r2.register("a", serde_json::json!({"type": 12})));
}
