package history_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// A deterministic chat history for the search tests and benchmark: the
// same config always yields the same messages (math/rand/v2's PCG is
// specified), in time order. Texts are Chinese, English, the two mixed,
// Japanese, Korean and emoji; some come from templates, most are strung
// from word lists by frequency (Zipf), so common words are common and
// pairs across word boundaries occur as in real text.

// corpusConfig says what to generate.
type corpusConfig struct {
	Seed     uint64
	Messages int
	Users    []string    // user IDs; Users[i] sends with Zipf weight (a few talk a lot)
	Pairs    [][2]string // the direct conversations messages go to besides the lobby
	Lobby    float64     // share of messages in the lobby
	Start    time.Time
	Span     time.Duration // from the first message to about the last
}

// corpusMsg is one generated message: Message without seq, and for a
// direct message the pair it belongs to (Pair < 0 for the lobby).
type corpusMsg struct {
	history.Message
	Pair int
}

var (
	zhWords = strings.Fields(`我 你 他 我们 你们 他们 大家 的 了 是 在 有 和 就 也 都 很 吗 呢 吧 啊 不 没有 这个 那个 什么 怎么 为什么
		今天 明天 昨天 后天 上午 中午 下午 晚上 周末 现在 刚才 一下 一起 已经 还是 因为 所以 但是 如果 应该 觉得 知道 需要 可以
		工作 问题 项目 会议 开会 讨论 公司 同事 老板 客户 方案 文档 代码 测试 上线 发布 版本 服务器 数据库 接口 需求 设计 产品
		用户 功能 性能 优化 部署 环境 配置 日志 报错 修复 提交 合并 分支 吃饭 午饭 火锅 咖啡 奶茶 电影 周报 计划 进度 延期 加班
		请假 出差 报销 发票 合同 签字 会议室 预订 取消 通知 邮件 电话 视频 截图 图片 链接 地址 密码 账号 权限 申请 审批 流程
		效率 质量 安全 稳定 团队 经理 领导 新人 面试 培训 学习 文章 资料 整理 检查 确认 安排 准备 开始 结束 完成 继续 等等 马上
		好的 收到 谢谢 辛苦 不好意思 没问题 加油 哈哈 天气 下雨 地铁 堵车 迟到 早点 回家 休息 感冒 医院 生日 蛋糕 礼物 旅游 机票
		酒店 北京 上海 深圳 杭州 社会 会计 机会 一会儿 开心 议题 议程 记录 纪要 总结 复盘 目标 指标 数据 分析 报告 演示 评审`)
	enWords = strings.Fields(`the a to and of is in it you that for on this we be are with have not can do at so but if
		just was will what get my me your all about now up out there when one they more like know time good going
		today tomorrow tonight week weekend morning meeting call sync standup review deploy release build test fix bug
		issue ticket branch merge commit server database cluster service latency error logs config update patch team
		lunch coffee dinner thanks please sorry okay sure great nice cool done ready later soon office home train late
		project plan roadmap deadline demo customer feedback design doc draft slides budget report metrics dashboard
		kubernetes docker golang postgres redis nginx grafana prometheus kubectl helm terraform linux github ci pipeline`)
	jaTexts = []string{"明日の会議は十時からです", "ミーティングの資料を送りました", "こんにちは、よろしくお願いします",
		"ﾐｰﾃｨﾝｸﾞは延期になりました", "東京は雨です☔", "ありがとうございます！", "会議室を予約しておきます", "カレーを食べに行きましょう"}
	koTexts = []string{"안녕하세요 회의는 내일입니다", "감사합니다 😊", "점심 같이 먹어요", "회의실 예약했어요", "수고하셨습니다"}
	emojis  = []string{"🎉", "👍", "😂", "🚀", "🍲", "☕", "🙏", "👀", "🔥", "✅", "😅", "👍🏻", "❤️"}
	names   = []string{"小明", "小红", "老王", "Alice", "Bob", "张伟", "李娜"}
	zhTpl   = []string{"明天下午三点开会，别迟到", "会议室订好了吗？", "今天的会议改到%s了", "你好，%s！最近怎么样？", "大家好，我是新来的%s",
		"我在学Go语言，感觉不错", "这个bug在kubernetes集群里复现了", "开会议程发群里了", "晚上吃火锅还是烧烤？🍲", "收到，谢谢！👍",
		"部署到k8s之后延迟降了一半", "ＡＢＣ公司的合同签了", "abc 测试环境又挂了", "会计说报销单要重新填", "社会新闻看了吗",
		"用Go语言写了个Kubernetes operator", "Go语言的goroutine真好用", "%s说你好", "ＫＵＢＥＲＮＥＴＥＳ的文档在这里"}
	enTpl = []string{"Meeting moved to %s, see you there", "Kubernetes upgrade is scheduled for tonight", "Did you try the kubectl plugin?",
		"Hello %s, how was the trip?", "Go 1.26 release notes are out", "I'm going home", "Let's grab lunch 🍜", "ABC corp called again",
		"The abcd test suite is flaky", "LGTM, ship it 🚀", "KUBERNETES or kubernetes, same thing", "hello? anyone there"}
	slots = []string{"三点", "十点半", "周五", "Monday", "Friday", "小明", "Alice", "下周一"}
)

// each calls yield with every message in time order; yield returns false
// to stop.
func (c corpusConfig) each(yield func(i int, m corpusMsg) bool) {
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	senders := rand.NewZipf(r, 1.2, 4, uint64(len(c.Users)-1))
	zh := rand.NewZipf(r, 1.1, 3, uint64(len(zhWords)-1))
	en := rand.NewZipf(r, 1.1, 3, uint64(len(enWords)-1))
	gap := max(c.Span.Milliseconds()/int64(max(c.Messages, 1)), 1)
	at := c.Start.UTC().Truncate(time.Millisecond)
	for i := 0; i < c.Messages; i++ {
		at = at.Add(time.Duration(1+r.Int64N(2*gap)) * time.Millisecond)
		m := corpusMsg{Message: history.Message{ID: fmt.Sprintf("m%08d", i), ClientID: fmt.Sprintf("c%08d", i),
			Kind: wire.KindText, CreatedAt: at, ConversationID: wire.LobbyID}, Pair: -1}
		if len(c.Pairs) > 0 && r.Float64() >= c.Lobby {
			m.Pair = r.IntN(len(c.Pairs))
			m.SenderID = c.Pairs[m.Pair][r.IntN(2)]
		} else {
			m.SenderID = c.Users[senders.Uint64()]
		}
		switch k := r.IntN(100); {
		case k < 5:
			m.Kind, m.MediaID = wire.KindImage, "p"+m.ID
			m.Media = &wire.Media{ID: m.MediaID, URL: "/api/media/" + m.MediaID, ThumbnailURL: "/api/media/" + m.MediaID + "/thumbnail",
				Mime: "image/jpeg", Size: 20_000 + r.Int64N(2_000_000), Width: 1280, Height: 960}
		case k < 8:
			m.Kind, m.MediaID = wire.KindVoice, "v"+m.ID
			m.Media = &wire.Media{ID: m.MediaID, URL: "/api/media/" + m.MediaID, Mime: "audio/webm", Size: 5_000 + r.Int64N(500_000),
				DurationMS: 1000 + r.IntN(59_000), Waveform: []int{3, 80, 255, 40}}
		default:
			m.Text = corpusText(r, zh, en)
		}
		if !yield(i, m) {
			return
		}
	}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func fill(r *rand.Rand, tpl string) string {
	if strings.Contains(tpl, "%s") {
		return fmt.Sprintf(tpl, pick(r, slots))
	}
	return tpl
}

// corpusText is one message text.
func corpusText(r *rand.Rand, zh, en *rand.Zipf) string {
	words := func(z *rand.Zipf, list []string, n int, sep string) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = list[z.Uint64()]
		}
		return strings.Join(ws, sep)
	}
	switch k := r.IntN(100); {
	case k < 14:
		return fill(r, pick(r, zhTpl))
	case k < 20:
		return fill(r, pick(r, enTpl))
	case k < 48:
		s := words(zh, zhWords, 3+r.IntN(10), "")
		if r.IntN(3) == 0 {
			s += pick(r, []string{"，", "。", "？", "！", "～"}) + words(zh, zhWords, 2+r.IntN(6), "")
		}
		return s
	case k < 68:
		s := words(en, enWords, 3+r.IntN(12), " ")
		if r.IntN(4) == 0 {
			s = strings.ToUpper(s[:1]) + s[1:] + "."
		}
		return s
	case k < 82: // mixed: Chinese with English words in it
		return words(zh, zhWords, 2+r.IntN(5), "") + pick(r, []string{"", " "}) + words(en, enWords, 1+r.IntN(2), " ") + words(zh, zhWords, 1+r.IntN(5), "")
	case k < 88:
		return pick(r, jaTexts)
	case k < 91:
		return pick(r, koTexts)
	case k < 95:
		return strings.Repeat(pick(r, emojis), 1+r.IntN(3))
	default:
		return words(zh, zhWords, 2+r.IntN(6), "") + pick(r, emojis) + " " + names[r.IntN(len(names))]
	}
}
