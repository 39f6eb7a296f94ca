//! config/argocd/: the optional Argo CD health check judges NetProbes right (run the way Argo CD
//! runs it, in Lua 5.1), and the ConfigMap patch beside it embeds the same script.

use netdiag_testkit::files::{config, repo};
use serde_json::{Value, json};

fn health(obj: &Value) -> (String, String) {
    let lua = mlua::Lua::new();
    let script =
        std::fs::read_to_string(repo().join("config/argocd/health-netprobe.lua")).expect("lua");
    let globals = lua.globals();
    let value = mlua::LuaSerdeExt::to_value(&lua, obj).expect("to lua");
    globals.set("obj", value).expect("set obj");
    let table: mlua::Table = lua.load(&script).eval().expect("the health check runs");
    (
        table.get("status").expect("status"),
        table.get("message").expect("message"),
    )
}

fn cond(t: &str, s: &str, reason: &str) -> Value {
    json!({"type": t, "status": s, "reason": reason, "message": format!("{t} {s}")})
}

#[test]
fn the_argocd_health_check_maps_conditions_to_health() {
    let meta = json!({"name": "p", "generation": 2});
    let probe = |status: Value| json!({"metadata": meta, "status": status});
    assert_eq!(
        health(&json!({"metadata": meta})).0,
        "Progressing",
        "no status yet"
    );
    let healthy = probe(
        json!({"phase": "Succeeded", "observedGeneration": 2, "summary": "ok",
        "conditions": [cond("Completed", "True", "RunFinished"), cond("Reachable", "True", "Connected"), cond("Ready", "True", "Connected"), cond("Reconciling", "False", "RunFinished")]}),
    );
    assert_eq!(health(&healthy), ("Healthy".to_string(), "ok".to_string()));
    let unreachable = probe(json!({"phase": "Succeeded", "observedGeneration": 2,
        "conditions": [cond("Reachable", "False", "NothingListening"), cond("Ready", "False", "NothingListening")]}));
    let (status, message) = health(&unreachable);
    assert_eq!(status, "Degraded");
    assert!(message.starts_with("NothingListening"), "{message}");
    let failed = probe(json!({"phase": "Failed", "observedGeneration": 2,
        "conditions": [cond("Completed", "True", "Unschedulable"), cond("Reachable", "Unknown", "Unschedulable"), cond("Ready", "False", "Unschedulable")]}));
    assert_eq!(health(&failed).0, "Degraded");
    let running = probe(json!({"phase": "Running", "observedGeneration": 2,
        "conditions": [cond("Reachable", "Unknown", "RunInProgress"), cond("Ready", "False", "RunInProgress"), cond("Reconciling", "True", "RunInProgress")]}));
    assert_eq!(health(&running).0, "Progressing");
    let stale = probe(
        json!({"phase": "Succeeded", "observedGeneration": 1, "conditions": [cond("Ready", "True", "Connected")]}),
    );
    assert_eq!(
        health(&stale).0,
        "Progressing",
        "a new generation is not judged on the old answer"
    );
    // A periodic re-run keeps the last answer: no flapping to Progressing every interval.
    let rerun = probe(json!({"phase": "Running", "observedGeneration": 2,
        "conditions": [cond("Reachable", "True", "Connected"), cond("Ready", "True", "Connected"), cond("Reconciling", "True", "RunInProgress")]}));
    assert_eq!(health(&rerun).0, "Healthy");
}

#[test]
fn the_argocd_configmap_patch_embeds_the_same_script() {
    let cm = config("argocd/argocd-cm-patch.yaml");
    let embedded = cm["data"]["resource.customizations.health.netdiag.dev_NetProbe"]
        .as_str()
        .expect("script");
    let file =
        std::fs::read_to_string(repo().join("config/argocd/health-netprobe.lua")).expect("lua");
    assert_eq!(
        embedded, file,
        "regenerate argocd-cm-patch.yaml from health-netprobe.lua"
    );
}
