// Labels and merges the Prometheus text of the workers of one group
// (group_exposition.hpp). A family is the run of lines from its `# HELP`
// (or `# TYPE`) line to the next family's: histogram _bucket/_sum/_count
// samples follow their family's header, so they stay with it.

#include "ops/workers/group_exposition.hpp"

#include <string>
#include <unordered_map>

namespace redge {
namespace {

struct FamilyText {
  std::string help;  // the whole "# HELP ..." line, or empty
  std::string type;  // the whole "# TYPE ..." line, or empty
  std::string samples;
};

// The metric name of a "# HELP name ..." / "# TYPE name ..." line.
std::string_view headerName(std::string_view line) {
  std::string_view rest = line.substr(7);  // after "# HELP " or "# TYPE "
  size_t end = rest.find(' ');
  return end == std::string_view::npos ? rest : rest.substr(0, end);
}

// The metric name of a sample line: up to its labels or its value.
std::string_view sampleName(std::string_view line) {
  size_t end = line.find_first_of("{ ");
  return end == std::string_view::npos ? line : line.substr(0, end);
}

}  // namespace

std::string labelWorker(std::string_view exposition, std::string_view worker) {
  std::string out;
  out.reserve(exposition.size() + exposition.size() / 4);
  std::string label = "worker=\"";
  label.append(worker).push_back('"');
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') {
      out.append(line).push_back('\n');
      continue;
    }
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) {  // not a sample; kept as it came
      out.append(line).push_back('\n');
      continue;
    }
    out.append(line.substr(0, name_end));
    if (line[name_end] == '{') {
      out.push_back('{');
      out.append(label);
      // An empty label set `{}` takes no comma.
      if (name_end + 1 < line.size() && line[name_end + 1] != '}') out.push_back(',');
      out.append(line.substr(name_end + 1));
    } else {
      out.push_back('{');
      out.append(label).push_back('}');
      out.append(line.substr(name_end));
    }
    out.push_back('\n');
  }
  return out;
}

std::string mergeExpositions(const std::vector<std::string_view>& parts) {
  std::vector<FamilyText> families;
  std::unordered_map<std::string, size_t> index;
  size_t total = 0;
  auto familyOf = [&](std::string_view name) -> FamilyText& {
    auto [it, added] = index.try_emplace(std::string(name), families.size());
    if (added) families.emplace_back();
    return families[it->second];
  };
  for (std::string_view part : parts) {
    total += part.size();
    FamilyText* current = nullptr;
    size_t at = 0;
    while (at < part.size()) {
      size_t end = part.find('\n', at);
      if (end == std::string_view::npos) end = part.size();
      std::string_view line = part.substr(at, end - at);
      at = end + 1;
      if (line.empty()) continue;
      bool help = line.starts_with("# HELP ");
      bool type = line.starts_with("# TYPE ");
      if (help || type) {
        current = &familyOf(headerName(line));
        std::string& slot = help ? current->help : current->type;
        if (slot.empty()) slot.assign(line);
        continue;
      }
      if (line[0] == '#') continue;  // other comments carry nothing a scraper reads
      // A sample before any header is its own family, by name.
      if (current == nullptr) current = &familyOf(sampleName(line));
      current->samples.append(line).push_back('\n');
    }
  }
  std::string out;
  out.reserve(total + 64);
  for (const FamilyText& f : families) {
    if (!f.help.empty()) out.append(f.help).push_back('\n');
    if (!f.type.empty()) out.append(f.type).push_back('\n');
    out.append(f.samples);
  }
  return out;
}

}  // namespace redge
