// A consumer of the installed (or add_subdirectory'd) package: build a pipeline, run it.
#include <emofuse/emofuse.hpp>

#include <cstdio>

int main() {
    using namespace emofuse;
    xt::xtensor<float, 3> words = xt::ones<float>({2, 5, 3});
    features<float> voice = {{1.f}, {2.f}};
    auto batch = make_batch(text(sequence<float>(words, {5, 2})), audio(voice));
    auto pipe = per_modality(pool::mean{}) | fusion::concat<dims<3, 1>>{} |
                heads::linear<float, 4, 1>(xt::xtensor<float, 2>{{1.f, 1.f, 1.f, 1.f}});
    const features<float> out = pipe(batch);
    if (out(0, 0) != 4.f || out(1, 0) != 5.f) {
        std::printf("consumer: wrong result %f %f\n", out(0, 0), out(1, 0));
        return 1;
    }
    std::printf("consumer ok (emofuse %d.%d.%d)\n", version.major, version.minor, version.patch);
    return 0;
}
