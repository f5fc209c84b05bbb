#include "events/flow_run.hpp"

#include "events/python/json_text.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::events {

namespace {

constexpr std::array state_detail_keys = {
    "flow_run_id",      "task_run_id",
    "child_flow_run_id", "scheduled_time",
    "cache_key",        "cache_expiration",
    "deferred",         "untrackable_result",
    "pause_timeout",    "pause_reschedule",
    "pause_key",        "run_input_keyset",
    "refresh_cache",    "retriable",
    "transition_id",    "task_parameters_id",
    "traceparent",      "deployment_concurrency_lease_id",
};

constexpr std::array adjectives = {
    "amber",   "brave",  "calm",    "crimson", "daring", "eager",  "fancy",
    "gentle",  "golden", "happy",   "icy",     "jolly",  "keen",   "lively",
    "mellow",  "nimble", "olive",   "proud",   "quiet",  "rapid",  "silver",
    "tidy",    "urban",  "vivid",   "witty",   "young",  "zealous", "bold",
    "cosmic",  "dusty",  "electric", "fuzzy",
};
constexpr std::array nouns = {
    "lemur",   "otter",  "falcon",  "badger", "heron",  "lynx",   "marmot",
    "newt",    "ocelot", "panda",   "quail",  "raven",  "salmon", "tapir",
    "urchin",  "vulture", "walrus", "yak",    "zebra",  "bison",  "cobra",
    "dingo",   "egret",  "ferret",  "gecko",  "hyena",  "ibis",   "jackal",
    "koala",   "mole",   "narwhal", "oriole",
};

std::string title_case(const std::string& type) {
  std::string out;
  for (std::size_t i = 0; i < type.size(); ++i) {
    const char c = type[i];
    out.push_back(i == 0 ? c
                         : static_cast<char>(std::tolower(
                               static_cast<unsigned char>(c))));
  }
  return out;
}

std::optional<timestamp> time_of(const json& v) {
  if (!v.is_string())
    return std::nullopt;
  return parse_timestamp(v.get<std::string>());
}

double seconds_between(timestamp from, timestamp to) {
  return static_cast<double>(to.micros - from.micros) / 1e6;
}

json string_or_null(const json& v, const char* key) {
  const auto it = v.find(key);
  return it == v.end() ? json(nullptr) : *it;
}

orchestration keep(const json&, std::string status, json details) {
  return {std::move(status), std::move(details), std::nullopt, std::nullopt};
}

json reason(const char* type, const std::string& text) {
  return json{{"type", type}, {"reason", text}};
}

} // namespace

bool is_terminal_state(const std::string& type) {
  return type == "COMPLETED" || type == "FAILED" || type == "CANCELLED" ||
         type == "CRASHED";
}

json default_empirical_policy() {
  return json{{"max_retries", 0},        {"retry_delay_seconds", 0.0},
              {"retries", nullptr},      {"retry_delay", nullptr},
              {"pause_keys", json::array()}, {"resuming", false},
              {"retry_type", nullptr}};
}

json make_state(const json& create, const uuid& id, timestamp now,
                const uuid& run_id) {
  const auto type = create.at("type").get<std::string>();
  json name = string_or_null(create, "name");
  if (name.is_null())
    name = title_case(type);
  json details = json::object();
  const auto given_it = create.find("state_details");
  const json given = given_it != create.end() && given_it->is_object()
                         ? *given_it
                         : json::object();
  for (const char* key : state_detail_keys) {
    const auto it = given.find(key);
    if (it != given.end()) {
      details[key] = *it;
      continue;
    }
    const std::string_view k = key;
    details[key] = (k == "deferred" || k == "untrackable_result" ||
                    k == "pause_reschedule")
                       ? json(false)
                       : json(nullptr);
  }
  details["flow_run_id"] = run_id.str();
  if (type == "SCHEDULED" && details.at("scheduled_time").is_null())
    details["scheduled_time"] = format_timestamp(now);
  // Normalise a given scheduled time to the wire form.
  if (auto t = time_of(details.at("scheduled_time")))
    details["scheduled_time"] = format_timestamp(*t);
  return json{{"id", id.str()},
              {"type", type},
              {"name", name},
              {"timestamp", format_timestamp(now)},
              {"message", string_or_null(create, "message")},
              {"data", string_or_null(create, "data")},
              {"state_details", std::move(details)}};
}

std::string run_name(const uuid& seed) {
  return std::string(adjectives[seed.bytes[0] % adjectives.size()]) + "-" +
         nouns[seed.bytes[1] % nouns.size()];
}

uuid uuid_v7(timestamp t, const uuid& random) {
  uuid out = random;
  const auto ms = static_cast<std::uint64_t>(t.micros / 1000);
  for (int i = 0; i < 6; ++i)
    out.bytes[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  out.bytes[6] = static_cast<std::uint8_t>(0x70 | (out.bytes[6] & 0x0f));
  out.bytes[8] = static_cast<std::uint8_t>(0x80 | (out.bytes[8] & 0x3f));
  return out;
}

json render_flow_run(json run, timestamp now) {
  const double total = run.value("total_run_time", 0.0);
  double estimated = total;
  const auto& state = run.at("state");
  if (run.at("state_type") == "RUNNING" && state.is_object())
    if (auto t = time_of(state.at("timestamp")))
      estimated += std::max(0.0, seconds_between(*t, now));
  run["estimated_run_time"] = estimated;
  double delta = 0.0;
  const auto expected = time_of(run.at("expected_start_time"));
  const auto start = time_of(run.at("start_time"));
  const bool terminal = run.at("state_type").is_string() &&
                        is_terminal_state(run.at("state_type"));
  if (expected && start && *start > *expected)
    delta = seconds_between(*expected, *start);
  else if (expected && !start && !terminal && *expected < now)
    delta = seconds_between(*expected, now);
  run["estimated_start_time_delta"] = delta;
  return run;
}

json worker_flow_run(const json& run, timestamp now) {
  json flow_run = json::object();
  json queue_id = nullptr;
  const json rendered = render_flow_run(run, now);
  for (const auto& [key, value] : rendered.items()) {
    if (key == "work_pool_id" || key == "work_pool_name")
      continue;
    if (key == "work_queue_id") {
      queue_id = value;
      continue;
    }
    flow_run[key] = value;
    if (key == "created_by")
      flow_run["work_queue_id"] = run.at("work_queue_id");
  }
  return json{{"work_pool_id", run.at("work_pool_id")},
              {"work_queue_id", queue_id},
              {"flow_run", std::move(flow_run)}};
}

namespace {

// The bytes that matter outside strings while skipping a container.
constexpr std::array<bool, 256> structural_bytes = [] {
  std::array<bool, 256> t{};
  for (const unsigned char c : {'"', '{', '}', '[', ']'})
    t[c] = true;
  return t;
}();

// The end of the string starting at `i` (its opening quote), or npos: the
// next quote preceded by an even number of backslashes (memchr finds the
// candidates; a run of escapes is rare in stored runs).
std::size_t skip_string(std::string_view text, std::size_t i) {
  const char* const begin = text.data();
  const char* const first = begin + i + 1;
  const char* const end = begin + text.size();
  for (const char* p = first; p < end;) {
    const auto* q = static_cast<const char*>(
        std::memchr(p, '"', static_cast<std::size_t>(end - p)));
    if (!q)
      return std::string_view::npos;
    const char* b = q;
    while (b > first && b[-1] == '\\')
      --b;
    if ((q - b) % 2 == 0)
      return static_cast<std::size_t>(q - begin) + 1;
    p = q + 1;
  }
  return std::string_view::npos;
}

// The end of the JSON value starting at `i` in `text`, or npos.
std::size_t skip_value(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  if (i >= n)
    return std::string_view::npos;
  const char c0 = text[i];
  if (c0 == '"')
    return skip_string(text, i);
  if (c0 == '{' || c0 == '[') {
    int depth = 0;
    for (; i < n; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (!structural_bytes[c])
        continue;
      if (c == '"') {
        i = skip_string(text, i);
        if (i == std::string_view::npos)
          return i;
        --i;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (--depth == 0) {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  while (i < n && text[i] != ',' && text[i] != '}' && text[i] != ']')
    ++i;
  return i;
}

struct member {
  std::string_view key; // with its quotes
  std::string_view value;
};

// The top-level members of a compact JSON object, in order.
bool members_of(std::string_view text, std::vector<member>& out) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return false;
  std::size_t i = 1;
  if (text[i] == '}')
    return i + 1 == text.size();
  while (true) {
    if (text[i] != '"')
      return false;
    const auto key_end = skip_string(text, i);
    if (key_end == std::string_view::npos || key_end >= text.size() ||
        text[key_end] != ':')
      return false;
    const auto value_end = skip_value(text, key_end + 1);
    if (value_end == std::string_view::npos || value_end >= text.size() ||
        value_end == key_end + 1)
      return false;
    out.push_back({text.substr(i, key_end - i),
                   text.substr(key_end + 1, value_end - key_end - 1)});
    if (text[value_end] == '}')
      return value_end + 1 == text.size();
    if (text[value_end] != ',')
      return false;
    i = value_end + 1;
  }
}

// A timestamp member's value: nothing for null or anything else.
std::optional<timestamp> time_text(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' ||
      v.find('\\') != std::string_view::npos)
    return std::nullopt;
  return parse_timestamp(v.substr(1, v.size() - 2));
}

// A number as `dump_json` writes it (0.0, the common value, without
// nlohmann's formatter).
void append_number(std::string& out, double v) {
  if (v == 0.0 && !std::signbit(v))
    out += "0.0";
  else
    append_json(out, json(v));
}

// A stored number's value; nothing when it is not one.
std::optional<double> number_text(std::string_view v) {
  if (v == "0.0")
    return 0.0;
  const json t = json::parse(v, nullptr, false);
  if (!t.is_number())
    return std::nullopt;
  return t.get<double>();
}

} // namespace

// Rationale: a poll answers up to 100 runs of ~2 KB each, so the stored text
// is split into its top-level members once (skipping nested values without
// looking inside strings but for their closing quote) and copied in spans:
// only the two computed members are written, and for a worker item the pool
// members are cut out and the queue id moved after `created_by`.
bool append_rendered_flow_run(std::string& out, std::string_view stored,
                              timestamp now, bool worker) {
  thread_local std::vector<member> ms;
  ms.clear();
  if (!members_of(stored, ms))
    return false;
  const member* total = nullptr;
  const member* type = nullptr;
  const member* expected_at = nullptr;
  const member* start_at = nullptr;
  const member* pool = nullptr;
  const member* pool_name = nullptr;
  const member* queue = nullptr;
  const member* created_by = nullptr;
  const member* estimate = nullptr;
  const member* delta_at = nullptr;
  int estimates = 0;
  int deltas = 0;
  for (const auto& m : ms) {
    const auto k = m.key;
    if (k == "\"total_run_time\"")
      total = &m;
    else if (k == "\"state_type\"")
      type = &m;
    else if (k == "\"expected_start_time\"")
      expected_at = &m;
    else if (k == "\"start_time\"")
      start_at = &m;
    else if (k == "\"work_pool_id\"")
      pool = &m;
    else if (k == "\"work_pool_name\"")
      pool_name = &m;
    else if (k == "\"work_queue_id\"")
      queue = &m;
    else if (k == "\"created_by\"")
      created_by = &m;
    else if (k == "\"estimated_run_time\"")
      estimate = &m, ++estimates;
    else if (k == "\"estimated_start_time_delta\"")
      delta_at = &m, ++deltas;
  }
  if (!type || !expected_at || !start_at || estimates + deltas != 2 ||
      estimates != 1 || (worker && (!pool || !queue)))
    return false;
  std::string_view state_type;
  if (type->value.size() >= 2 && type->value.front() == '"')
    state_type = type->value.substr(1, type->value.size() - 2);
  if (state_type == "RUNNING" ||
      (type->value != "null" && type->value.front() != '"'))
    return false;
  double estimated = 0.0;
  if (total) {
    const auto t = number_text(total->value);
    if (!t)
      return false;
    estimated = *t;
  }
  double delta = 0.0;
  const auto expected = time_text(expected_at->value);
  const auto start = time_text(start_at->value);
  const bool terminal =
      !state_type.empty() && is_terminal_state(std::string(state_type));
  if (expected && start && *start > *expected)
    delta = seconds_between(*expected, *start);
  else if (expected && !start && !terminal && *expected < now)
    delta = seconds_between(*expected, now);

  const char* const base = stored.data();
  auto at = [&](std::string_view v) {
    return static_cast<std::size_t>(v.data() - base);
  };
  auto end_of = [&](std::string_view v) { return at(v) + v.size(); };
  // The spans of members a worker item leaves out, in text order, each with
  // the comma before it (after it when no member is kept before it).
  std::array<std::pair<std::size_t, std::size_t>, 3> cuts{};
  std::size_t n_cuts = 0;
  if (worker) {
    out += "{\"work_pool_id\":";
    out += pool->value;
    out += ",\"work_queue_id\":";
    out += queue->value;
    out += ",\"flow_run\":";
    auto cut = [&](const member* m) { return m == pool || m == pool_name || m == queue; };
    std::size_t first_kept = 0;
    while (first_kept < ms.size() && cut(&ms[first_kept]))
      ++first_kept;
    for (std::size_t index = 0; index < ms.size(); ++index) {
      const member* m = &ms[index];
      if (!cut(m))
        continue;
      if (index < first_kept) // no comma before it yet: take the one after
        cuts[n_cuts++] = {at(m->key), index + 1 < ms.size()
                                          ? at(ms[index + 1].key)
                                          : end_of(m->value)};
      else
        cuts[n_cuts++] = {at(m->key) - 1, end_of(m->value)};
    }
  }
  // Copies [from, to) of the stored text minus the cuts.
  auto copy = [&](std::size_t from, std::size_t to) {
    for (std::size_t c = 0; c < n_cuts && from < to; ++c) {
      const auto [cb, ce] = cuts[c];
      if (ce <= from || cb >= to)
        continue;
      if (cb > from)
        out.append(base + from, cb - from);
      from = std::max(from, ce);
    }
    if (from < to)
      out.append(base + from, to - from);
  };
  // The edits in the order of the text: the two computed values, and the
  // queue id after `created_by`'s value.
  struct edit {
    std::size_t from, to;
    int what; // 0 estimate, 1 delta, 2 queue after created_by
  };
  std::array<edit, 3> edits{{{at(estimate->value), end_of(estimate->value), 0},
                             {at(delta_at->value), end_of(delta_at->value), 1},
                             {0, 0, 2}}};
  std::size_t n_edits = 2;
  if (worker && created_by) {
    edits[2] = {end_of(created_by->value), end_of(created_by->value), 2};
    n_edits = 3;
  }
  for (std::size_t i = 1; i < n_edits; ++i) // in text order
    for (std::size_t j = i; j > 0 && edits[j].from < edits[j - 1].from; --j)
      std::swap(edits[j], edits[j - 1]);
  std::size_t pos = 0;
  for (std::size_t e = 0; e < n_edits; ++e) {
    copy(pos, edits[e].from);
    if (edits[e].what == 0)
      append_number(out, estimated);
    else if (edits[e].what == 1)
      append_number(out, delta);
    else {
      out += ",\"work_queue_id\":";
      out += queue->value;
    }
    pos = edits[e].to;
  }
  copy(pos, stored.size());
  if (worker)
    out.push_back('}');
  return true;
}

bool stored_run_members(std::string_view stored,
                        std::span<const std::string_view> keys,
                        std::span<std::string_view> values) {
  thread_local std::vector<member> ms;
  ms.clear();
  if (!members_of(stored, ms))
    return false;
  for (std::size_t k = 0; k < keys.size() && k < values.size(); ++k) {
    values[k] = {};
    for (const auto& m : ms)
      if (m.key.size() == keys[k].size() + 2 &&
          m.key.substr(1, keys[k].size()) == keys[k]) {
        values[k] = m.value;
        break;
      }
  }
  return true;
}

void apply_state(json& run, json state, timestamp now) {
  const json current = run.at("state");
  const bool had_state = current.is_object();
  auto ts = *time_of(state.at("timestamp"));
  if (had_state)
    if (auto cur = time_of(current.at("timestamp")); cur && ts <= *cur)
      ts = timestamp{cur->micros + 1};
  state["timestamp"] = format_timestamp(ts);
  state["state_details"]["flow_run_id"] = run.at("id");
  const auto type = state.at("type").get<std::string>();
  const std::string cur_type =
      had_state ? current.at("type").get<std::string>() : std::string();

  if (cur_type == "RUNNING") {
    if (auto cur = time_of(current.at("timestamp")))
      run["total_run_time"] =
          run.value("total_run_time", 0.0) + seconds_between(*cur, ts);
  }
  if (type == "RUNNING" && run.at("start_time").is_null())
    run["start_time"] = format_timestamp(ts);
  if (is_terminal_state(type)) {
    if (cur_type.empty() || !is_terminal_state(cur_type))
      run["end_time"] = format_timestamp(ts);
    if (run.at("start_time").is_null())
      run["start_time"] = format_timestamp(ts);
  } else if (!cur_type.empty() && is_terminal_state(cur_type)) {
    run["end_time"] = nullptr;
  }
  const auto& scheduled = state.at("state_details").at("scheduled_time");
  if (run.at("expected_start_time").is_null())
    run["expected_start_time"] = type == "SCHEDULED" && scheduled.is_string()
                                     ? scheduled
                                     : json(format_timestamp(ts));
  run["next_scheduled_start_time"] =
      type == "SCHEDULED" ? scheduled : json(nullptr);
  if (type == "RUNNING" && cur_type != "PAUSED")
    run["run_count"] = run.value("run_count", 0) + 1;
  if (type == "RUNNING" || is_terminal_state(type))
    run["empirical_policy"]["resuming"] = false;
  run["state_id"] = state.at("id");
  run["state_type"] = type;
  run["state_name"] = state.at("name");
  run["state"] = std::move(state);
  run["updated"] = format_timestamp(now);
}

orchestration orchestrate(const json& run, const json& proposed, bool force,
                          timestamp now, const uuid& replacement_id) {
  const json& current = run.at("state");
  const auto type = proposed.at("type").get<std::string>();
  const auto& name = proposed.at("name");
  auto accept = [&] {
    return orchestration{"ACCEPT", json{{"type", "accept_details"}}, proposed,
                         std::nullopt};
  };
  auto replace = [&](const char* new_type, const char* new_name,
                     json message, json details_in, const std::string& why) {
    json create{{"type", new_type},
                {"name", new_name},
                {"message", std::move(message)},
                {"data", proposed.at("data")},
                {"state_details", std::move(details_in)}};
    return orchestration{"REJECT", reason("reject_details", why),
                         make_state(create, replacement_id, now,
                                    *uuid::parse(run.at("id").get<std::string>())),
                         std::nullopt};
  };
  if (!current.is_object())
    return accept(); // a run's first state
  const auto cur_type = current.at("type").get<std::string>();
  const auto& cur_details = current.at("state_details");

  // BypassCancellingFlowRunsWithNoInfra (both policies).
  if (type == "CANCELLING") {
    if (cur_type == "SCHEDULED" && (run.at("infrastructure_pid").is_null() ||
                                    current.at("name") == "Resuming"))
      return replace("CANCELLED", "Cancelled", proposed.at("message"),
                     json::object(),
                     "Scheduled flow run has no infrastructure to terminate.");
    if (cur_type == "PAUSED" &&
        cur_details.value("pause_reschedule", false) == true)
      return replace("CANCELLED", "Cancelled", proposed.at("message"),
                     json::object(),
                     "Suspended flow run has no infrastructure to terminate.");
  }
  if (force)
    return accept();

  // PreventDuplicateTransitions.
  const auto& tid = proposed.at("state_details").at("transition_id");
  if (!tid.is_null() && tid == cur_details.at("transition_id"))
    return keep(run, "REJECT",
                reason("reject_details",
                       "This run has already made this state transition."));
  // HandleFlowTerminalStateTransitions.
  orchestration result = accept();
  if (is_terminal_state(cur_type)) {
    if (type == "CANCELLING" || type == "PAUSED" || type == "CRASHED")
      return keep(run, "ABORT",
                  reason("abort_details",
                         "Run is already in terminal state " + cur_type + "."));
    if (type == "SCHEDULED") {
      if (run.at("deployment_id").is_null())
        return keep(run, "ABORT",
                    reason("abort_details", "Cannot reschedule a run without "
                                            "an associated deployment."));
      json policy = run.at("empirical_policy");
      policy["retry_type"] = "reschedule";
      policy["pause_keys"] = json::array();
      policy["resuming"] = false;
      result.empirical_policy = std::move(policy);
    }
  }
  // EnforceCancellingToCancelledTransition.
  if (cur_type == "CANCELLING" && type != "CANCELLED")
    return keep(run, "REJECT",
                reason("reject_details",
                       "Cannot transition flows that are cancelling to a "
                       "state other than Cancelled."));
  // PreventPendingTransitions.
  if (type == "PENDING" &&
      (cur_type == "PENDING" || cur_type == "RUNNING" ||
       cur_type == "CANCELLING" || cur_type == "CANCELLED")) {
    const bool sub_state = cur_type == "PENDING" && name != current.at("name") &&
                           name != "Pending";
    if (!sub_state)
      return keep(run, "ABORT",
                  reason("abort_details", "This run is in a " + cur_type +
                                              " state and cannot transition "
                                              "to a PENDING state."));
    // Pending → Submitting keeps the scheduled time.
    if (result.write->at("state_details").at("scheduled_time").is_null())
      (*result.write)["state_details"]["scheduled_time"] =
          cur_details.at("scheduled_time");
  }
  // EnsureOnlyScheduledFlowsMarkedLate.
  if (type == "SCHEDULED" && name == "Late") {
    if (cur_type != "SCHEDULED")
      return keep(run, "REJECT",
                  reason("reject_details",
                         "Only scheduled flows can be marked late."));
    if (current.at("name") == "Late")
      return keep(run, "REJECT",
                  reason("reject_details",
                         "This flow run is already marked late."));
  }
  // CopyScheduledTime.
  if (cur_type == "SCHEDULED" && type == "PENDING" &&
      result.write->at("state_details").at("scheduled_time").is_null())
    (*result.write)["state_details"]["scheduled_time"] =
        cur_details.at("scheduled_time");
  // WaitForScheduledTime.
  if ((cur_type == "SCHEDULED" || cur_type == "PENDING") &&
      type == "RUNNING") {
    if (auto when = time_of(cur_details.at("scheduled_time"))) {
      const double delay = seconds_between(now, *when);
      if (delay > 0)
        return keep(run, "WAIT",
                    json{{"type", "wait_details"},
                         {"delay_seconds",
                          static_cast<std::int64_t>(std::floor(delay))},
                         {"reason", "Scheduled time is in the future"}});
    }
  }
  // RetryFailedFlows.
  if (cur_type == "RUNNING" && type == "FAILED") {
    const auto& policy = run.at("empirical_policy");
    const auto& retries = policy.at("retries");
    if (retries.is_number_integer() &&
        run.value("run_count", 0) <= retries.get<std::int64_t>()) {
      const auto& delay_v = policy.at("retry_delay");
      const std::int64_t delay_s =
          delay_v.is_number() ? static_cast<std::int64_t>(delay_v.get<double>())
                              : 0;
      auto r = replace("SCHEDULED", "AwaitingRetry", proposed.at("message"),
                       json{{"scheduled_time",
                             format_timestamp(
                                 timestamp{now.micros + delay_s * 1000000})}},
                       "Retrying");
      json p = policy;
      p["retry_type"] = "in_process";
      r.empirical_policy = std::move(p);
      return r;
    }
  }
  return result;
}

// -- schedules -----------------------------------------------------------------

std::vector<timestamp> window_dates(const schedule& s, timestamp start,
                                    timestamp end, const schedule_window& w) {
  std::vector<timestamp> out;
  if (w.max_runs <= 0)
    return out;
  // next_runs answers times strictly after its bound: one microsecond
  // earlier includes `start` itself.
  for (const auto t : next_runs(s, timestamp{start.micros - 1},
                                static_cast<std::size_t>(w.max_runs))) {
    if (t > end)
      break;
    out.push_back(t);
    if (static_cast<std::int64_t>(out.size()) >= w.min_runs &&
        t.micros >= start.micros + w.min_time_micros)
      break;
  }
  return out;
}

std::string scheduled_run_key(const uuid& deployment, const uuid& schedule_id,
                              const schedule& s, timestamp at) {
  return "scheduled " + deployment.str() + " " + schedule_id.str() + " " +
         python_datetime_str(s, at);
}

} // namespace deployd::events
