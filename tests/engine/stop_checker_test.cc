// Stop strings across token boundaries: expected outputs are worked out by hand from
// vLLM's semantics (text cut before the stop string; nothing of a stop string is ever
// streamed before it is decided).
#include <gtest/gtest.h>

#include "engine/stop_checker.h"

namespace qinfer::engine {
namespace {

std::string feed(StopChecker& sc, const std::vector<std::string>& pieces,
                 std::vector<std::string>* emitted = nullptr) {
  std::string all;
  for (const auto& p : pieces) {
    std::string e = sc.push(p);
    if (emitted) emitted->push_back(e);
    all += e;
  }
  return all;
}

TEST(StopChecker, MatchSpanningPieces) {
  StopChecker sc({"o Wo"}, false);
  std::vector<std::string> em;
  EXPECT_EQ(feed(sc, {"Hel", "lo W", "orld"}, &em), "Hell");
  EXPECT_TRUE(sc.stopped());
  EXPECT_EQ(*sc.matched(), "o Wo");
  ASSERT_EQ(em.size(), 3u);
  EXPECT_EQ(em[0], "Hel");
  EXPECT_EQ(em[1], "l");  // "o W" is held: it may begin the stop string
  EXPECT_EQ(em[2], "");
  EXPECT_EQ(sc.push("more"), "");
  EXPECT_EQ(sc.flush(), "");
}

TEST(StopChecker, HeldTextReleasedWhenNotAStop) {
  StopChecker sc({"cd"}, false);
  EXPECT_EQ(sc.push("ab"), "ab");
  EXPECT_EQ(sc.push("c"), "");
  EXPECT_EQ(sc.push("x"), "cx");
  EXPECT_EQ(sc.push("c"), "");
  EXPECT_EQ(sc.flush(), "c");  // sequence ended for another reason
  EXPECT_FALSE(sc.stopped());
}

TEST(StopChecker, IncludeStopAndEarliestMatchWins) {
  StopChecker sc({"world", "lo"}, true);
  EXPECT_EQ(feed(sc, {"hello world"}), "hello");
  EXPECT_EQ(*sc.matched(), "lo");
  StopChecker sc2({"\n\n"}, false);
  EXPECT_EQ(feed(sc2, {"a\n", "\nb"}), "a");
}

TEST(StopChecker, NoStopsPassesThroughAndEmptyStopIgnored) {
  StopChecker sc({""}, false);
  EXPECT_EQ(feed(sc, {"a", "b"}), "ab");
  EXPECT_FALSE(sc.stopped());
}

TEST(StopChecker, MultibyteStop) {
  // "é" is 2 bytes; the held suffix starts at a character boundary of the stop string.
  StopChecker sc({"\xC3\xA9t\xC3\xA9"}, false);
  EXPECT_EQ(sc.push("caf\xC3\xA9"), "caf");
  EXPECT_EQ(sc.push(" "), "\xC3\xA9 ");
  EXPECT_EQ(feed(sc, {"\xC3\xA9", "t\xC3\xA9!"}), "");
  EXPECT_TRUE(sc.stopped());
}

}  // namespace
}  // namespace qinfer::engine
