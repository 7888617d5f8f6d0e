// The fleet summary (see the header): what to publish, and its JSON.

#include "ops/alerts/fleet_summary.hpp"

#include <rapidjson/document.h>

#include <cmath>

#include "core/json_writer.hpp"

namespace redge {
namespace {

constexpr size_t kMaxText = 256;

}  // namespace

std::vector<std::string> fleetMetricNames(const SampleHistory& history) {
  std::vector<std::string> out;
  for (const std::string& name : history.wantedNames()) {
    if (name.starts_with(kFleetMetricPrefix) && name.size() > kFleetMetricPrefix.size()) {
      out.push_back(name.substr(kFleetMetricPrefix.size()));
    }
  }
  return out;
}

std::string renderFleetSummary(const SampleHistory& local, const std::vector<std::string>& names) {
  std::string out;
  JsonWriter w(out);
  w.startArray();
  for (const std::string& name : names) {
    const auto* series = local.find(name);
    if (series == nullptr) continue;
    for (const auto& s : *series) {
      if (s->ring.size() == 0) continue;
      double v = s->ring.latest().value;
      if (!std::isfinite(v)) continue;
      w.startArray();
      w.string(name);
      w.startObject();
      for (const auto& [k, val] : s->labels) w.key(k).string(val);
      w.endObject();
      w.rawValue(std::to_string(v));
      w.endArray();
    }
  }
  w.endArray();
  return out;
}

bool parseFleetSummary(std::string_view json, size_t max_samples, std::vector<FleetSample>& out) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsArray()) return false;
  size_t read = 0;
  for (const auto& e : d.GetArray()) {
    if (read >= max_samples) break;
    if (!e.IsArray() || e.Size() != 3 || !e[0].IsString() || !e[1].IsObject() || !e[2].IsNumber() ||
        e[0].GetStringLength() > kMaxText) {
      continue;
    }
    FleetSample s;
    s.name.assign(e[0].GetString(), e[0].GetStringLength());
    bool ok = true;
    for (auto it = e[1].MemberBegin(); it != e[1].MemberEnd(); ++it) {
      if (!it->value.IsString() || it->name.GetStringLength() > kMaxText ||
          it->value.GetStringLength() > kMaxText) {
        ok = false;
        break;
      }
      s.labels.emplace_back(std::string(it->name.GetString(), it->name.GetStringLength()),
                            std::string(it->value.GetString(), it->value.GetStringLength()));
    }
    if (!ok) continue;
    s.value = e[2].GetDouble();
    out.push_back(std::move(s));
    ++read;
  }
  return true;
}

}  // namespace redge
