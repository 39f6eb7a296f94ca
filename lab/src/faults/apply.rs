//! Making and undoing faults in a built lab: the only I/O of `lab break` and `lab fix`. Each
//! fault is recorded in the state file once its actions ran, so a failure half-way leaves the
//! record true to what is in force.

use super::Fault;
use super::actions::{self, LabContext};
use crate::state::StateWriter;
use crate::{Lab, LabError, LabSpec, LabTools, exec};

/// What a `break` or `fix` changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultChange {
    /// Faults made (break) or undone (fix).
    pub changed: Vec<Fault>,
    /// Faults that were already in force (break) or not in force (fix).
    pub unchanged: Vec<Fault>,
}

impl Lab {
    /// The faults in force.
    pub fn faults(&self) -> &[Fault] {
        &self.state.faults
    }

    /// The lab as the API would describe it with the faults in force: what `lab trace`
    /// resolves against.
    pub fn api_view(&self) -> LabSpec {
        actions::api_view(self.spec(), self.faults())
    }

    /// Make `faults`. Each is checked first: one that does not apply changes nothing.
    pub fn break_faults(
        &mut self,
        faults: &[Fault],
        tools: &LabTools,
    ) -> Result<FaultChange, LabError> {
        for f in faults {
            actions::applies(*f, self.spec())?;
        }
        self.change(faults, tools, true)
    }

    /// Undo `faults`.
    pub fn fix_faults(
        &mut self,
        faults: &[Fault],
        tools: &LabTools,
    ) -> Result<FaultChange, LabError> {
        self.change(faults, tools, false)
    }

    fn change(
        &mut self,
        faults: &[Fault],
        tools: &LabTools,
        breaking: bool,
    ) -> Result<FaultChange, LabError> {
        if !exec::is_root() {
            return Err(LabError::NotRoot);
        }
        let host = exec::preflight(self.spec().proxy_mode)?;
        let mut writer = StateWriter {
            path: self.names.state_file(),
            state: self.state.clone(),
        };
        let mut change = FaultChange::default();
        for &fault in faults {
            let in_force = writer.state.faults.contains(&fault);
            if in_force == breaking {
                change.unchanged.push(fault);
                continue;
            }
            let mut after: Vec<Fault> = writer.state.faults.clone();
            if breaking {
                after.push(fault);
            } else {
                after.retain(|f| *f != fault);
            }
            let spec = writer.state.spec.clone();
            let ctx = LabContext {
                spec: &spec,
                names: &self.names,
                host: &host,
                tools,
            };
            let steps = if breaking {
                actions::break_actions(fault, ctx, &after)?
            } else {
                actions::fix_actions(fault, ctx, &after)
            };
            let ran = steps
                .iter()
                .try_for_each(|a| exec::execute(a, &host, &mut writer));
            // Recorded even when an action failed half-way: a fault partly made is in force
            // (`fix` undoes it), a fault partly undone is not yet gone (`fix` again).
            if breaking || ran.is_ok() {
                writer.record(|s| s.faults = after.clone())?;
            }
            self.state = writer.state.clone();
            ran?;
            change.changed.push(fault);
        }
        self.state = writer.state;
        Ok(change)
    }
}
