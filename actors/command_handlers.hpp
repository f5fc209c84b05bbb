// The writer's command handlers, one per command: load what the decision
// needs through the batch, decide, append and fold. Called only on the
// writer's thread. Internal to actors/; no CAF.
#pragma once

#include "actors/commands.hpp"
#include "actors/decision.hpp"
#include "storage/event_log.hpp"

namespace deployd::actors {

#define DEPLOYD_HANDLER(T)                                                     \
  [[nodiscard]] command_result handle(const T& cmd, storage::write_batch& b,   \
                                      decision_env& env,                       \
                                      const events::uuid& command_id)

// -- deployment_commands.cpp
// ---------------------------------------------------
DEPLOYD_HANDLER(events::create_flow);
DEPLOYD_HANDLER(events::update_flow);
DEPLOYD_HANDLER(events::delete_flow);
DEPLOYD_HANDLER(events::bulk_delete_flows);
DEPLOYD_HANDLER(events::create_deployment);
DEPLOYD_HANDLER(events::update_deployment);
DEPLOYD_HANDLER(events::set_deployment_paused);
DEPLOYD_HANDLER(events::delete_deployment);
DEPLOYD_HANDLER(events::bulk_delete_deployments);
DEPLOYD_HANDLER(events::create_schedules);
DEPLOYD_HANDLER(events::update_schedule);
DEPLOYD_HANDLER(events::delete_schedule);

// -- resource_commands.cpp
// -----------------------------------------------------
DEPLOYD_HANDLER(events::create_work_pool);
DEPLOYD_HANDLER(events::update_work_pool);
DEPLOYD_HANDLER(events::delete_work_pool);
DEPLOYD_HANDLER(events::create_work_queue);
DEPLOYD_HANDLER(events::create_concurrency_limit);
DEPLOYD_HANDLER(events::update_concurrency_limit);
DEPLOYD_HANDLER(events::delete_concurrency_limit);
DEPLOYD_HANDLER(events::create_block_type);
DEPLOYD_HANDLER(events::update_block_type);
DEPLOYD_HANDLER(events::create_block_schema);
DEPLOYD_HANDLER(events::create_block_document);
DEPLOYD_HANDLER(events::delete_block_document);
DEPLOYD_HANDLER(events::update_block_document);
DEPLOYD_HANDLER(events::delete_block_type);

// -- worker_commands.cpp
// -------------------------------------------------------
DEPLOYD_HANDLER(events::record_worker_heartbeat);
DEPLOYD_HANDLER(events::delete_worker);
DEPLOYD_HANDLER(events::sweep_workers);

// -- variable_commands.cpp
// -----------------------------------------------------
DEPLOYD_HANDLER(events::create_variable);
DEPLOYD_HANDLER(events::update_variable);
DEPLOYD_HANDLER(events::delete_variable);
// -- event_commands.cpp
// --------------------------------------------------------
DEPLOYD_HANDLER(events::record_client_events);
DEPLOYD_HANDLER(events::expire_client_events);
// -- idempotency.cpp
DEPLOYD_HANDLER(events::expire_idempotency_keys);

// -- flow_run_commands.cpp
DEPLOYD_HANDLER(events::create_flow_run);
DEPLOYD_HANDLER(events::create_flow_runs_bulk);
DEPLOYD_HANDLER(events::update_flow_run);
DEPLOYD_HANDLER(events::delete_flow_run);
DEPLOYD_HANDLER(events::set_flow_run_state);
DEPLOYD_HANDLER(events::record_poll);
DEPLOYD_HANDLER(events::schedule_flow_runs);
DEPLOYD_HANDLER(events::schedule_due_runs);
DEPLOYD_HANDLER(events::mark_late_runs);

// -- automation_commands.cpp
DEPLOYD_HANDLER(events::create_automation);
DEPLOYD_HANDLER(events::replace_automation);
DEPLOYD_HANDLER(events::patch_automation);
DEPLOYD_HANDLER(events::delete_automation);
DEPLOYD_HANDLER(events::delete_automations_owned_by);

#undef DEPLOYD_HANDLER

} // namespace deployd::actors
