// env_switch and env_int: what the CUDA path's A/B switches read from the environment.
#include "core/env.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace qinfer {
namespace {

TEST(Env, SwitchTakesOnlyZeroOrOne) {
  const char* name = "QINFER_TEST_ENV_SWITCH";
  unsetenv(name);
  EXPECT_EQ(env_switch(name, 7), 7);
  for (auto [value, want] : {std::pair{"0", 0}, std::pair{"1", 1}, std::pair{"2", 7},
                             std::pair{"yes", 7}, std::pair{"", 7}}) {
    setenv(name, value, 1);
    EXPECT_EQ(env_switch(name, 7), want) << "'" << value << "'";
  }
  unsetenv(name);
}

TEST(Env, IntTakesAWholeDecimalInteger) {
  const char* name = "QINFER_TEST_ENV_INT";
  unsetenv(name);
  EXPECT_EQ(env_int(name, 160), 160);
  for (auto [value, want] : {std::pair{"110", 110}, std::pair{"0", 0}, std::pair{"-3", -3},
                             std::pair{"2", 2}, std::pair{"12k", 160}, std::pair{"", 160},
                             std::pair{"0x10", 160}, std::pair{"99999999999", 160}}) {
    setenv(name, value, 1);
    EXPECT_EQ(env_int(name, 160), want) << "'" << value << "'";
  }
  unsetenv(name);
}

}  // namespace
}  // namespace qinfer
