//! New block content written by `ConfigDocument::merge_patch` follows the file's own
//! indentation: its step (2, 4), its sequences under a key (indented or
//! "indentless", `key:\n- a`), and in JSON its unit (spaces of any width, tabs).
//! The real-style files of `tests/data/` (a CI workflow, a compose file, a
//! Kubernetes manifest, a `package.json`) get content that looks like theirs.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test edit_indentation`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Value, json};
use ssot_core::Format;
use ssot_core::format::edit::ConfigDocument;

/// `text` patched with `patch`: the result must read as RFC 7396 says, and keep
/// every line of `text` (the patch only adds lines here).
fn patched(format: Format, text: &str, patch: &Value) -> String {
    let mut doc = ConfigDocument::parse(format, text).unwrap();
    let mut want = doc.value().clone();
    json_patch::merge(&mut want, patch);
    doc.merge_patch(patch).unwrap();
    assert_eq!(doc.value(), &want);
    let reread = ConfigDocument::parse(format, doc.as_str()).unwrap();
    assert_eq!(reread.value(), &want, "{}", doc.as_str());
    doc.into_string()
}

/// The lines of `after` that are not in `before` (in order), joined. A trailing
/// comma is not compared: in JSON, a new last key gives the key before it its comma.
fn added(before: &str, after: &str) -> String {
    let bare = |l: &str| l.strip_suffix(',').unwrap_or(l).to_owned();
    let mut old = before.lines().map(bare).peekable();
    let mut out = Vec::new();
    for line in after.lines() {
        if old.peek() == Some(&bare(line)) {
            old.next();
        } else {
            out.push(line);
        }
    }
    assert!(old.next().is_none(), "a line was lost:\n{after}");
    out.join("\n")
}

/// The shape of a workflow's `last_run`, as `Executor::run_workflow` patches it.
fn last_run() -> Value {
    json!({"last_run": {
        "run_id": "r1",
        "outcome": "succeeded",
        "steps": {"lists": "succeeded", "count": "failed"},
    }})
}

#[test]
fn two_space_files_get_two_space_blocks() {
    // A list whose items are flow mappings: their text starts 4 columns right of
    // the key, which is not the file's step (the `-` is 2 columns right).
    let text = concat!(
        "automation:\n",
        "  workflows:\n",
        "    check:\n",
        "      steps:\n",
        "        - {name: lists, run: ls}\n",
        "      timeout: 30\n",
    );
    let out = patched(
        Format::Yaml,
        text,
        &json!({"automation": {"workflows": {"check": last_run()}}}),
    );
    assert_eq!(
        added(text, &out),
        concat!(
            "      last_run:\n",
            "        run_id: r1\n",
            "        outcome: succeeded\n",
            "        steps:\n",
            "          lists: succeeded\n",
            "          count: failed",
        )
    );
}

/// The registry `examples/run.rs` runs `docs.check` of, patched as the run patches it.
#[test]
fn the_example_registry_gets_its_last_run_in_its_own_style() {
    let path = format!(
        "{}/../examples/data/store/registries/automation.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let out = patched(
        Format::Yaml,
        &text,
        &json!({"automation": {"workflows": {"docs": {"check": last_run()}}}}),
    );
    assert_eq!(
        added(&text, &out),
        concat!(
            "        last_run:\n",
            "          run_id: r1\n",
            "          outcome: succeeded\n",
            "          steps:\n",
            "            lists: succeeded\n",
            "            count: failed",
        )
    );
}

#[test]
fn four_space_files_get_four_space_blocks() {
    let text = concat!(
        "server:\n",
        "    listen:\n",
        "        - 80\n",
        "    name: web\n",
    );
    let patch = json!({"server": {
        "tls": {"cert": "a.pem", "protocols": {"min": "1.2"}},
        "upstreams": [{"host": "a", "weights": [1, 2]}],
    }});
    let out = patched(Format::Yaml, text, &patch);
    assert_eq!(
        added(text, &out),
        concat!(
            "    tls:\n",
            "        cert: a.pem\n",
            "        protocols:\n",
            "            min: '1.2'\n",
            "    upstreams:\n",
            "        - host: a\n",
            "          weights:\n",
            "              - 1\n",
            "              - 2",
        )
    );
    // A scalar replaced by a mapping, at the top level.
    let text = "name: web\nport:\n    http: 80\n";
    let out = patched(
        Format::Yaml,
        text,
        &json!({"name": {"first": "w", "last": "eb"}}),
    );
    assert_eq!(
        out,
        "name:\n    first: w\n    last: eb\nport:\n    http: 80\n"
    );
}

#[test]
fn indentless_sequences_stay_indentless() {
    let text = concat!(
        "spec:\n",
        "  containers:\n",
        "  - name: api\n",
        "    image: api:1\n",
        "  replicas: 2\n",
    );
    let patch = json!({"spec": {
        "volumes": [{"name": "data", "mounts": ["/a", "/b"]}],
        "strategy": {"steps": [{"pause": 1}]},
    }});
    let out = patched(Format::Yaml, text, &patch);
    assert_eq!(
        added(text, &out),
        concat!(
            "  volumes:\n",
            "  - name: data\n",
            "    mounts:\n",
            "    - /a\n",
            "    - /b\n",
            "  strategy:\n",
            "    steps:\n",
            "    - pause: 1",
        )
    );
}

#[test]
fn a_mapping_that_shows_no_style_takes_the_documents() {
    // `b` has only scalars: the step (4) and the indentless lists come from the
    // rest of the document.
    let text = concat!(
        "a:\n",
        "    x:\n",
        "        y: 1\n",
        "    l:\n",
        "    - 1\n",
        "b:\n",
        "    z: 2\n",
    );
    let out = patched(
        Format::Yaml,
        text,
        &json!({"b": {"new": {"k": 1, "list": [{"m": 1}]}}}),
    );
    assert_eq!(
        added(text, &out),
        concat!(
            "    new:\n",
            "        k: 1\n",
            "        list:\n",
            "        - m: 1",
        )
    );
    // No nesting at all: 2 spaces, indented lists.
    let out = patched(Format::Yaml, "a: 1\n", &json!({"b": {"c": [{"d": 1}]}}));
    assert_eq!(out, "a: 1\nb:\n  c:\n    - d: 1\n");
}

#[test]
fn json_keeps_its_unit_spaces_or_tabs() {
    for unit in ["  ", "    ", "\t"] {
        let text = format!(
            "{{\n{unit}\"name\": \"w\",\n{unit}\"deps\": {{\n{unit}{unit}\"a\": 1\n{unit}}}\n}}\n"
        );
        let out = patched(
            Format::Json,
            &text,
            &json!({"deps": {"b": {"x": [1]}}, "scripts": {"t": "run"}}),
        );
        let u = unit;
        assert_eq!(
            added(&text, &out),
            format!(
                "{u}{u}\"b\": {{\n{u}{u}{u}\"x\": [\n{u}{u}{u}{u}1\n{u}{u}{u}]\n{u}{u}}}\n{u}\"scripts\": {{\n{u}{u}\"t\": \"run\"\n{u}}}"
            ),
            "unit {unit:?}:\n{out}"
        );
    }
}

fn data(file: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn real_files_get_new_blocks_in_their_own_style() {
    let text = data("ci-workflow.yml");
    let out = patched(
        Format::Yaml,
        &text,
        &json!({"jobs": {"lint": {
            "runs-on": "ubuntu-latest",
            "steps": [{"uses": "actions/checkout@v4"}, {"run": "cargo clippy"}],
        }}}),
    );
    assert_eq!(
        added(&text, &out),
        concat!(
            "  lint:\n",
            "    runs-on: ubuntu-latest\n",
            "    steps:\n",
            "      - uses: actions/checkout@v4\n",
            "      - run: cargo clippy",
        )
    );

    let text = data("compose.yaml");
    let out = patched(
        Format::Yaml,
        &text,
        &json!({"services": {"cache": {"image": "redis:7", "volumes": ["cache:/data"]}}}),
    );
    assert_eq!(
        added(&text, &out),
        concat!(
            "  cache:\n",
            "    image: redis:7\n",
            "    volumes:\n",
            "      - cache:/data",
        )
    );

    let text = data("deployment.yaml");
    let patch = json!({"spec": {"template": {"spec": {
        "volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}],
    }}}});
    let out = patched(Format::Yaml, &text, &patch);
    assert_eq!(
        added(&text, &out),
        concat!(
            "      volumes:\n",
            "        - name: data\n",
            "          emptyDir:\n",
            "            medium: Memory",
        )
    );
    // The same manifest as `kubectl get -o yaml` writes it: lists indentless.
    let kubectl = concat!(
        "apiVersion: apps/v1\n",
        "kind: Deployment\n",
        "spec:\n",
        "  template:\n",
        "    spec:\n",
        "      containers:\n",
        "      - name: api\n",
        "        args:\n",
        "        - --port\n",
        "        - \"8080\"\n",
    );
    let out = patched(Format::Yaml, kubectl, &patch);
    assert_eq!(
        added(kubectl, &out),
        concat!(
            "      volumes:\n",
            "      - name: data\n",
            "        emptyDir:\n",
            "          medium: Memory",
        ),
        "{kubectl}"
    );

    let text = data("package.json");
    let out = patched(
        Format::Json,
        &text,
        &json!({"engines": {"node": ">=20"}, "scripts": {"lint": {"cmd": "eslint"}}}),
    );
    assert_eq!(
        added(&text, &out),
        concat!(
            "    \"lint\": {\n",
            "      \"cmd\": \"eslint\"\n",
            "    }\n",
            "  \"engines\": {\n",
            "    \"node\": \">=20\"\n",
            "  }",
        )
    );
}

/// A generated block mapping: each entry a scalar, a nested mapping, or a list of
/// scalars or of mappings.
#[derive(Debug, Clone)]
enum Gen {
    Scalar,
    Map(Vec<Gen>),
    Scalars,
    Maps(Vec<Gen>),
}

fn gen_map() -> impl Strategy<Value = Vec<Gen>> {
    let leaf = Just(Gen::Scalar).boxed();
    let value = leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            Just(Gen::Scalar),
            Just(Gen::Scalars),
            proptest::collection::vec(inner.clone(), 1..3).prop_map(Gen::Map),
            proptest::collection::vec(inner, 1..3).prop_map(Gen::Maps),
        ]
    });
    proptest::collection::vec(value, 1..4)
}

/// Writes `entries` with keys at `pad`, children `step` deeper, lists indentless or
/// not; records the path of every block mapping in `maps`.
fn render(
    entries: &[Gen],
    pad: usize,
    first: Option<&str>,
    (step, indentless): (usize, bool),
    path: &mut Vec<String>,
    maps: &mut Vec<Vec<String>>,
    out: &mut String,
) {
    maps.push(path.clone());
    for (i, e) in entries.iter().enumerate() {
        let key = format!("k{}_{i}", path.len());
        match (i, first) {
            (0, Some(lead)) => out.push_str(lead),
            _ => out.push_str(&" ".repeat(pad)),
        }
        let list_pad = if indentless { pad } else { pad + step };
        match e {
            Gen::Scalar => out.push_str(&format!("{key}: v{i}\n")),
            Gen::Scalars => {
                out.push_str(&format!("{key}:\n"));
                for j in 0..2 {
                    out.push_str(&format!("{}- s{j}\n", " ".repeat(list_pad)));
                }
            }
            Gen::Map(inner) => {
                out.push_str(&format!("{key}:\n"));
                path.push(key);
                render(inner, pad + step, None, (step, indentless), path, maps, out);
                path.pop();
            }
            Gen::Maps(inner) => {
                out.push_str(&format!("{key}:\n"));
                let lead = format!("{}- ", " ".repeat(list_pad));
                // Items are not patched by path: record nothing below them.
                let mut none = Vec::new();
                render(
                    inner,
                    list_pad + 2,
                    Some(&lead),
                    (step, indentless),
                    &mut vec![key],
                    &mut none,
                    out,
                );
            }
        }
    }
}

/// Whether `pred` holds for an entry of `entries` or below.
fn any(entries: &[Gen], pred: &dyn Fn(&Gen) -> bool) -> bool {
    entries.iter().any(|g| {
        pred(g)
            || match g {
                Gen::Map(inner) | Gen::Maps(inner) => any(inner, pred),
                _ => false,
            }
    })
}

/// The column of the key a line holds (after `- ` for a list item's first key).
fn key_column(line: &str) -> usize {
    let body = line.trim_start_matches(' ');
    let indent = line.len() - body.len();
    if body.starts_with("- ") {
        indent + 2
    } else {
        indent
    }
}

proptest! {
    /// Whatever the step and the list style of a file, the block lines a patch adds
    /// use them: each child one step deeper than its key (a list at the key's column
    /// when the file writes them indentless).
    #[test]
    fn added_blocks_use_the_files_step_and_list_style(
        entries in gen_map(),
        step in 2..5usize,
        indentless: bool,
        pick: prop::sample::Index,
    ) {
        let (mut out, mut maps) = (String::new(), Vec::new());
        render(&entries, 0, None, (step, indentless), &mut Vec::new(), &mut maps, &mut out);
        let at = maps[pick.index(maps.len())].clone();
        let new = json!({"nk": {"na": "x1", "nb": [{"nc": "x2", "nd": ["x3", "x4"]}], "ne": {"nf": "x5"}}});
        let mut patch = new;
        for key in at.iter().rev() {
            patch = json!({key.clone(): patch});
        }
        let result = patched(Format::Yaml, &out, &patch);
        let lines: Vec<&str> = result.lines().collect();
        // What the file shows: a step only through a nested mapping or an indented
        // list; a list style only through a list. What it does not show is 2
        // spaces, lists indented.
        let has_map = any(&entries, &|g| matches!(g, Gen::Map(_)));
        let has_list = any(&entries, &|g| matches!(g, Gen::Scalars | Gen::Maps(_)));
        let step = if has_map || (has_list && !indentless) { step } else { 2 };
        let indentless = indentless && has_list;
        for pair in lines.windows(2) {
            let (line, next) = (pair[0], pair[1]);
            if !(line.contains("nk") || line.contains(" n")) || !line.ends_with(':') {
                continue;
            }
            let key = key_column(line);
            let child = next.len() - next.trim_start_matches(' ').len();
            if next.trim_start().starts_with("- ") && indentless {
                prop_assert_eq!(child, key, "{}", result);
            } else {
                prop_assert_eq!(child, key + step, "{}", result);
            }
        }
    }
}
