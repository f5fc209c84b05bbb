// Injectable sources of time and of new ids.
//
// Decisions take "now" and fresh ids from these interfaces so that tests and
// replays are deterministic: the values chosen are recorded in the events, and
// a fixed clock plus a seeded id source reproduce a run exactly. Knows nothing
// of storage, CAF or HTTP.
#pragma once

#include "events/ids.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <memory>
#include <random>
#include <string_view>

namespace deployd::events {

/// Source of the current time. Called only from the writer actor's thread.
class clock {
public:
  virtual ~clock() = default;
  /// The current UTC time; never goes backwards between calls.
  [[nodiscard]] virtual timestamp now() = 0;
};

/// Source of fresh version-4 UUIDs. Called only from the writer actor's
/// thread.
class id_source {
public:
  virtual ~id_source() = default;
  [[nodiscard]] virtual uuid next() = 0;
};

/// Wall clock, made monotonic (a step back is clamped to the last value).
class system_clock final : public clock {
public:
  timestamp now() override;

private:
  timestamp last_{};
};

/// Starts at `start` and advances by `step_micros` on every call.
class stepping_clock final : public clock {
public:
  stepping_clock(timestamp start, std::int64_t step_micros)
      : next_(start), step_(step_micros) {
  }
  timestamp now() override;

private:
  timestamp next_;
  std::int64_t step_;
};

/// UUIDv4 from a 64-bit Mersenne twister; seeded for deterministic runs.
class random_ids final : public id_source {
public:
  explicit random_ids(std::uint64_t seed) : engine_(seed) {
  }
  uuid next() override;

private:
  std::mt19937_64 engine_;
};

/// Builds a clock from its configuration text: `system`, or
/// `step:<ISO timestamp>[:<step micros>]` for a deterministic clock.
/// Returns nullptr for an unknown spelling.
[[nodiscard]] std::unique_ptr<clock> make_clock(std::string_view spec);

/// Builds an id source: seed 0 means "seed from std::random_device".
[[nodiscard]] std::unique_ptr<id_source> make_id_source(std::uint64_t seed);

} // namespace deployd::events
