// FlagSnapshot: ordering loads and change messages by the flag store's
// version (see the header), and the snapshot file's JSON.

#include "flags/flag_snapshot.hpp"

#include <algorithm>

#include "core/json_parse.hpp"

namespace redge {
namespace {

std::string_view jsonText(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

}  // namespace

std::optional<FlagMessage> parseFlagMessage(std::string_view json) {
  rapidjson::Document doc;
  if (!parseJson(json, doc).ok() || !doc.IsObject()) return std::nullopt;
  auto version = doc.FindMember("version");
  auto op = doc.FindMember("op");
  auto name = doc.FindMember("name");
  if (version == doc.MemberEnd() || !version->value.IsInt64() || op == doc.MemberEnd() ||
      !op->value.IsString() || name == doc.MemberEnd() || !name->value.IsString()) {
    return std::nullopt;
  }
  FlagMessage m;
  m.version = version->value.GetInt64();
  auto at = doc.FindMember("at");
  if (at != doc.MemberEnd() && at->value.IsInt64()) m.at_ms = at->value.GetInt64();
  m.name = std::string(jsonText(name->value));
  if (checkFlagName(m.name)) return std::nullopt;
  if (jsonText(op->value) == "delete") {
    m.op = FlagOp::Delete;
    return m;
  }
  if (jsonText(op->value) != "put") return std::nullopt;
  auto flag = doc.FindMember("flag");
  if (flag == doc.MemberEnd()) return std::nullopt;
  m.flag = parseStoredFlag(flag->value);
  if (!m.flag || m.flag->name != m.name) return std::nullopt;
  return m;
}

std::string snapshotFileJson(const std::map<std::string, Flag, std::less<>>& flags, int64_t version,
                             int64_t saved_at_ms) {
  std::string out;
  JsonWriter w(out);
  w.startObject();
  w.key("version").integer(version);
  w.key("saved_at").integer(saved_at_ms);
  w.key("flags").startArray();
  for (const auto& [name, flag] : flags) {
    // The stored form: updated_at stays in ms, as Redis holds it.
    std::string body = flagBodyJson(flag);
    body.pop_back();
    body += ",\"updated_at\":" + std::to_string(flag.updated_at_ms) +
            ",\"version\":" + std::to_string(flag.version) + "}";
    w.rawValue(body);
  }
  w.endArray();
  w.endObject();
  out.push_back('\n');
  return out;
}

std::optional<FlagLoad> parseSnapshotFile(std::string_view json) {
  rapidjson::Document doc;
  if (!parseJson(json, doc).ok() || !doc.IsObject()) return std::nullopt;
  auto version = doc.FindMember("version");
  auto flags = doc.FindMember("flags");
  if (version == doc.MemberEnd() || !version->value.IsInt64() || flags == doc.MemberEnd() ||
      !flags->value.IsArray()) {
    return std::nullopt;
  }
  FlagLoad load;
  load.version = version->value.GetInt64();
  auto saved = doc.FindMember("saved_at");
  if (saved != doc.MemberEnd() && saved->value.IsInt64())
    load.saved_at_ms = saved->value.GetInt64();
  for (const auto& v : flags->value.GetArray()) {
    std::optional<Flag> f = parseStoredFlag(v);
    if (f) {
      load.flags.push_back(std::move(*f));
    } else {
      ++load.unreadable;
    }
  }
  return load;
}

const Flag* FlagSnapshot::find(std::string_view name) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? nullptr : &it->second;
}

void FlagSnapshot::restore(const FlagLoad& load) {
  ++generation_;
  if (loaded_) return;
  flags_.clear();
  for (const auto& f : load.flags) flags_[f.name] = f;
  version_ = load.version;
  restored_ = true;
}

void FlagSnapshot::beginLoad() {
  loading_ = true;
}

std::vector<FlagChange> FlagSnapshot::finishLoad(const FlagLoad& load, bool& gap) {
  ++generation_;
  std::vector<FlagChange> out;
  std::map<std::string, Flag, std::less<>> next;
  for (const auto& f : load.flags) next[f.name] = f;
  for (const auto& [name, f] : flags_) {
    if (next.find(name) == next.end()) out.push_back({FlagOp::Delete, "resync", f, std::nullopt});
  }
  for (const auto& [name, f] : next) {
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      out.push_back({FlagOp::Put, "resync", std::nullopt, f});
    } else if (!(it->second == f)) {
      out.push_back({FlagOp::Put, "resync", it->second, f});
    }
  }
  flags_ = std::move(next);
  version_ = load.version;
  loaded_ = true;
  loading_ = false;
  gap = held_overflow_;
  held_overflow_ = false;
  applyHeld(out, gap);
  return out;
}

std::vector<FlagChange> FlagSnapshot::abandonLoad(bool& gap) {
  ++generation_;
  std::vector<FlagChange> out;
  loading_ = false;
  gap = held_overflow_;
  held_overflow_ = false;
  applyHeld(out, gap);
  return out;
}

void FlagSnapshot::applyHeld(std::vector<FlagChange>& out, bool& gap) {
  std::vector<FlagMessage> held = std::move(held_);
  held_.clear();
  for (const auto& m : held) {
    bool skipped = false;
    std::vector<FlagChange> changes = apply(m, skipped);
    gap = gap || skipped;
    for (auto& c : changes) out.push_back(std::move(c));
  }
}

std::vector<FlagChange> FlagSnapshot::apply(const FlagMessage& m, bool& gap) {
  ++generation_;
  std::vector<FlagChange> out;
  gap = false;
  if (loading_) {
    if (held_.size() < kMaxHeld) {
      held_.push_back(m);
    } else {
      held_overflow_ = true;
    }
    return out;
  }
  if (loaded_) {
    if (m.version <= version_) return out;  // the load (or an earlier message) had it
    gap = m.version > version_ + 1;
  } else if (restored_) {
    // The file's version may belong to a Redis that has since counted
    // again: apply, and let the load that must follow settle it.
    gap = true;
  }
  version_ = std::max(version_, m.version);
  applyOne(m, out);
  return out;
}

void FlagSnapshot::applyOne(const FlagMessage& m, std::vector<FlagChange>& out) {
  auto it = flags_.find(m.name);
  if (m.op == FlagOp::Delete) {
    if (it == flags_.end()) return;
    out.push_back({FlagOp::Delete, "message", it->second, std::nullopt});
    flags_.erase(it);
    return;
  }
  if (it == flags_.end()) {
    flags_.emplace(m.name, *m.flag);
    out.push_back({FlagOp::Put, "message", std::nullopt, *m.flag});
    return;
  }
  FlagChange c{FlagOp::Put, "message", it->second, *m.flag};
  it->second = *m.flag;
  out.push_back(std::move(c));
}

}  // namespace redge
