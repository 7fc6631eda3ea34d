# qinfer_layer(NAME DEPS...): a static library from every .cc in src/NAME and src/NAME/cpu.
# Files named *_avx512.cc / *_avx2.cc are compiled with those ISA flags; the code that calls
# them checks the CPU at run time (src/core/cpu_features.h).
function(qinfer_layer name)
  file(GLOB srcs CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/${name}/cpu/*.cc)
  if(NOT srcs)
    add_library(qinfer_${name} INTERFACE)
    target_include_directories(qinfer_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(qinfer_${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(qinfer_${name} STATIC ${srcs})
  target_include_directories(qinfer_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(qinfer_${name} PUBLIC ${ARGN})
  foreach(f ${srcs})
    if(f MATCHES "_avx512\\.cc$")
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16;-mavx512vnni;-mfma;-mf16c")
    elseif(f MATCHES "_avx2\\.cc$")
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    endif()
  endforeach()
endfunction()

# qinfer_test(LAYER DEPS...): one GoogleTest binary per test folder.
function(qinfer_test layer)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(test_${layer} ${srcs})
  target_link_libraries(test_${layer} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main)
  target_compile_definitions(test_${layer} PRIVATE
    QINFER_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    QINFER_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  gtest_discover_tests(test_${layer} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "QINFER_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
