#include "events/clock.hpp"

#include <chrono>
#include <string>

namespace deployd::events {

timestamp system_clock::now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const timestamp t{
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch)
          .count()};
  if (t > last_)
    last_ = t;
  return last_;
}

timestamp stepping_clock::now() {
  const timestamp t = next_;
  next_.micros += step_;
  return t;
}

uuid random_ids::next() {
  const std::uint64_t hi = engine_();
  const std::uint64_t lo = engine_();
  return uuid::v4_from(hi, lo);
}

std::unique_ptr<clock> make_clock(std::string_view spec) {
  if (spec == "system" || spec.empty())
    return std::make_unique<system_clock>();
  constexpr std::string_view prefix = "step:";
  if (!spec.starts_with(prefix))
    return nullptr;
  spec.remove_prefix(prefix.size());
  // The timestamp itself contains ':'; the optional step follows the last
  // ':' only when that suffix is all digits and the timestamp ends with 'Z'.
  std::int64_t step = 1000;
  const auto z = spec.find('Z');
  if (z != std::string_view::npos && z + 1 < spec.size() &&
      spec[z + 1] == ':') {
    const std::string step_text(spec.substr(z + 2));
    if (step_text.empty() ||
        step_text.find_first_not_of("0123456789") != std::string::npos)
      return nullptr;
    step = std::stoll(step_text);
    spec = spec.substr(0, z + 1);
  }
  const auto start = parse_timestamp(spec);
  if (!start)
    return nullptr;
  return std::make_unique<stepping_clock>(*start, step);
}

std::unique_ptr<id_source> make_id_source(std::uint64_t seed) {
  if (seed == 0) {
    std::random_device rd;
    seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  return std::make_unique<random_ids>(seed);
}

} // namespace deployd::events
