//! Hand-written hostile components: models that attack the host through what they return and
//! what they build, rather than through what they compute.
//!
//! [`component`] wraps a core module in the `mcp:model` world the way `wit-component` does (the
//! core functions lifted, then re-exported through a shim that names the world's types), so each
//! attack is a few lines of core WebAssembly.

/// Where [`core`]'s `run-batch` builds its answer.
pub const BATCH: u32 = 80;
/// Where the bump allocator starts; everything below is the fixed layout.
const HEAP: u32 = 1 << 16;

/// A core module exporting `memory` (`pages` of 64 KiB), a bump `cabi_realloc`, and the
/// description of a model `hostile` with input `x` and output `y` at byte 48 (its fields:
/// name, version, inputs and outputs, each a pointer and a length, so inputs at 64 and 68). `body` adds the
/// exports `describe` and `run-batch` and anything else the attack needs.
pub fn core(pages: u32, body: &str) -> String {
    // name "hostile" at 0, version "0.1.0" at 8, "x" at 16, "y" at 24, inputs at 32, outputs at
    // 40, the info record at 48.
    let mut data = Vec::new();
    data.extend_from_slice(b"hostile\0");
    data.extend_from_slice(b"0.1.0\0\0\0");
    data.extend_from_slice(b"x\0\0\0\0\0\0\0");
    data.extend_from_slice(b"y\0\0\0\0\0\0\0");
    for word in [16u32, 1, 24, 1, 0, 7, 8, 5, 32, 1, 40, 1] {
        data.extend_from_slice(&word.to_le_bytes());
    }
    let data: String = data.iter().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const {HEAP}))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $p) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                  (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1)))
                (i32.const -1)) (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (data (i32.const 0) "{data}")
  {body}
)"#
    )
}

/// `describe` returning the well-formed description [`core`] lays out.
pub const DESCRIBE: &str = r#"(func (export "describe") (result i32) (i32.const 48))"#;

/// `describe` declaring `count` inputs, each the same `name_len` bytes at `name_at`, with the
/// list of names built at `list_at`.
pub fn describe_inputs(list_at: u32, count: u32, name_at: u32, name_len: u32) -> String {
    format!(
        r#"(func (export "describe") (result i32) (local $i i32)
        (loop $l
          (i32.store (i32.add (i32.const {list_at}) (i32.shl (local.get $i) (i32.const 3)))
            (i32.const {name_at}))
          (i32.store (i32.add (i32.const {len_at}) (i32.shl (local.get $i) (i32.const 3)))
            (i32.const {name_len}))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const {count}))))
        (i32.store (i32.const 64) (i32.const {list_at}))
        (i32.store (i32.const 68) (i32.const {count}))
        (i32.const 48))"#,
        len_at = list_at + 4
    )
}

/// 4,096 input names, each the same 1,000,000 bytes: 2 MiB of the model's memory (32 pages),
/// 4 GB if the host copied each name.
pub fn overlapping_names() -> String {
    describe_inputs(1 << 20, 4096, 4096, 1_000_000)
}

/// `run-batch` answering `count` rows of one output, all zero, with no failure; `before` runs
/// first (the attack).
pub fn run_batch(before: &str) -> String {
    format!(
        r#"(func (export "run-batch") (param $count i32) (param i32 i32) (result i32)
    {before}
    (i32.store (i32.const {BATCH}) (i32.const 1024))
    (i32.store (i32.const {values_len}) (local.get $count))
    (i32.store8 (i32.const {failure}) (i32.const 0))
    (i32.const {BATCH}))"#,
        values_len = BATCH + 4,
        failure = BATCH + 8,
    )
}

/// `run-batch` answering with `values` (pointer, length) and a failure of scenario `index` with
/// the message at (pointer, length), whatever the call asked for.
pub fn run_batch_answering(values: (u32, u32), failure: Option<(u32, u32, u32)>) -> String {
    let mut stores = format!(
        "(i32.store (i32.const {BATCH}) (i32.const {})) (i32.store (i32.const {}) (i32.const {}))",
        values.0,
        BATCH + 4,
        values.1
    );
    match failure {
        None => stores += &format!(" (i32.store8 (i32.const {}) (i32.const 0))", BATCH + 8),
        Some((index, ptr, len)) => {
            stores += &format!(
                " (i32.store8 (i32.const {}) (i32.const 1)) (i32.store (i32.const {}) (i32.const \
                 {index})) (i32.store (i32.const {}) (i32.const {ptr})) (i32.store (i32.const {}) \
                 (i32.const {len}))",
                BATCH + 8,
                BATCH + 12,
                BATCH + 16,
                BATCH + 20
            )
        }
    }
    format!(
        r#"(func (export "run-batch") (param i32 i32 i32) (result i32) {stores} (i32.const {BATCH}))"#
    )
}

/// The component around core module `core` (instantiated as `$main`); `extra` goes at the
/// component's top level after `$main` is instantiated, e.g. more core instances.
pub fn component(core: &str, extra: &str) -> Vec<u8> {
    let text = format!(
        r#"(component
  (core module $m {core_body})
  (core instance $main (instantiate $m))
  {extra}
  (alias core export $main "memory" (core memory $memory))
  (alias core export $main "cabi_realloc" (core func $realloc))
  (type $names (list string))
  (type $info (record (field "name" string) (field "version" string) (field "inputs" $names)
    (field "outputs" $names)))
  (type $failure (record (field "index" u32) (field "message" string)))
  (type $values (list f64))
  (type $maybe (option $failure))
  (type $batch (record (field "values" $values) (field "failure" $maybe)))
  (type $describe-t (func (result $info)))
  (type $run-t (func (param "count" u32) (param "inputs" $values) (result $batch)))
  (func $describe (type $describe-t) (canon lift (core func $main "describe") (memory $memory)
    (realloc $realloc) string-encoding=utf8))
  (func $run (type $run-t) (canon lift (core func $main "run-batch") (memory $memory)
    (realloc $realloc) string-encoding=utf8))
  (component $shim
    (type $names (list string))
    (type $info-d (record (field "name" string) (field "version" string) (field "inputs" $names)
      (field "outputs" $names)))
    (import "import-type-info" (type $info (eq $info-d)))
    (type $failure-d (record (field "index" u32) (field "message" string)))
    (import "import-type-failure" (type $failure (eq $failure-d)))
    (type $values (list f64))
    (type $maybe (option $failure))
    (type $batch-d (record (field "values" $values) (field "failure" $maybe)))
    (import "import-type-batch-output" (type $batch (eq $batch-d)))
    (import "import-func-describe" (func $d (result $info)))
    (import "import-func-run-batch" (func $r (param "count" u32) (param "inputs" $values)
      (result $batch)))
    (type $info-e-d (record (field "name" string) (field "version" string)
      (field "inputs" $names) (field "outputs" $names)))
    (export $info-e "info" (type $info-e-d))
    (type $failure-e-d (record (field "index" u32) (field "message" string)))
    (export $failure-e "failure" (type $failure-e-d))
    (type $maybe-e (option $failure-e))
    (type $batch-e-d (record (field "values" $values) (field "failure" $maybe-e)))
    (export $batch-e "batch-output" (type $batch-e-d))
    (export "describe" (func $d) (func (result $info-e)))
    (export "run-batch" (func $r) (func (param "count" u32) (param "inputs" $values)
      (result $batch-e)))
  )
  (instance $evaluate (instantiate $shim
    (with "import-func-describe" (func $describe))
    (with "import-func-run-batch" (func $run))
    (with "import-type-info" (type $info))
    (with "import-type-failure" (type $failure))
    (with "import-type-batch-output" (type $batch))))
  (export "mcp:model/evaluate@0.1.0" (instance $evaluate))
)"#,
        core_body = core
            .trim_start()
            .strip_prefix("(module")
            .expect("a core module")
            .trim_end()
            .strip_suffix(')')
            .expect("a core module"),
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}
