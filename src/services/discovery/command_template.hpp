#pragma once
// The argv templates of discovery.spawn_command and discovery.destroy_command:
// each element is copied with its placeholders replaced, so one element may
// hold several ("--set=discovery.id={id}") and no shell ever parses the
// result. Pure.
//
//   {service}  the service asked for          {id}    the instance's id
//   {port}     a free port (spawn) or the     {redis} the Redis URL this
//              instance's port (destroy)              redge uses
//   {address}  the instance's host:port (destroy only)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct CommandValues {
  std::string service;
  std::string id;
  std::string port;
  std::string redis;
  std::string address;
};

// The element check of both keys: every {name} is one of the placeholders
// above (a typo such as {ID} stops start-up rather than reaching a command).
std::optional<std::string> checkCommandArgument(const std::string& element);

// True when some element of `argv` holds `{name}` (name without braces).
bool usesPlaceholder(const std::vector<std::string>& argv, std::string_view name);

std::vector<std::string> expandCommand(const std::vector<std::string>& argv,
                                       const CommandValues& values);

}  // namespace redge
